package client

import (
	"errors"
	"fmt"
)

// MaxNameLen is the longest function name, so that a name fits in a DNS
// label and in the container names derived from it.
const MaxNameLen = 63

// ErrInvalidName is wrapped by ValidateName's errors.
var ErrInvalidName = errors.New("invalid function name")

// ValidateName checks a function name against the API's rule: 1 to 63
// characters of a-z, 0-9 and '-', starting with a letter and not ending
// with '-'. It lets the CLI refuse a bad name before any upload.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w %q: longer than %d characters", ErrInvalidName, name, MaxNameLen)
	case name[0] < 'a' || name[0] > 'z':
		return fmt.Errorf("%w %q: must start with a lowercase letter", ErrInvalidName, name)
	case name[len(name)-1] == '-':
		return fmt.Errorf("%w %q: must not end with '-'", ErrInvalidName, name)
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return fmt.Errorf("%w %q: %q is not allowed; use a-z, 0-9 and '-'", ErrInvalidName, name, r)
		}
	}
	if looksLikeID(name) {
		return fmt.Errorf("%w %q: names shaped like a function id are reserved", ErrInvalidName, name)
	}
	return nil
}

// looksLikeID reports whether name has the shape of a UUID, which the API
// reads as a function id rather than a name.
func looksLikeID(name string) bool {
	if len(name) != 36 {
		return false
	}
	for i, r := range name {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
				return false
			}
		}
	}
	return true
}

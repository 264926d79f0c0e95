// Package build turns an uploaded function archive into a container image:
// it unpacks and checks the archive (Check), resolves the manifest against
// the backend's Policy, generates the runtime's main program and
// Containerfile, and builds the image through a runtime.Driver (Builder).
package build

import "errors"

// Sentinel errors for bad uploads. Errors that wrap them carry a message
// meant for the user who uploaded the archive; the API turns ErrInvalid
// into 400 and ErrTooLarge into 413.
var (
	// ErrInvalid is a malformed archive, manifest or source tree.
	ErrInvalid = errors.New("invalid function source")
	// ErrTooLarge is an archive over one of the Policy's size limits.
	ErrTooLarge = errors.New("function source too large")
)

// inputError is a user-facing message about an upload. Its text is the
// message alone, so that the API can show it as it is, while errors.Is
// still finds the sentinel kind.
type inputError struct {
	kind error
	msg  string
}

func (e *inputError) Error() string { return e.msg }

func (e *inputError) Unwrap() error { return e.kind }

func invalid(msg string) error { return &inputError{kind: ErrInvalid, msg: msg} }

func tooLarge(msg string) error { return &inputError{kind: ErrTooLarge, msg: msg} }

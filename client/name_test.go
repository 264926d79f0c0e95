package client

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"hello", true},
		{"a", true},
		{"a-1-b", true},
		{"x9", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Hello", false},
		{"1abc", false},
		{"-abc", false},
		{"abc-", false},
		{"a_b", false},
		{"a.b", false},
		{"a/b", false},
		{"héllo", false},
		{"a b", false},
		{"abcdef01-2345-4678-9abc-def012345678", false},
		{"abcdef01-2345-4678-9abc-def01234567x", true},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want it to wrap ErrInvalidName", tt.name, err)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"hello", "a-b", "A", "-", "a-", "héllo", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		// An accepted name needs no escaping anywhere it is used.
		if url.PathEscape(name) != name || len(name) < 1 || len(name) > MaxNameLen {
			t.Errorf("ValidateName(%q) accepted a name that is not URL and DNS safe", name)
		}
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Errorf("ValidateName(%q) accepted a character outside a-z, 0-9, -", name)
		}
		if name[0] < 'a' || name[0] > 'z' || strings.HasSuffix(name, "-") {
			t.Errorf("ValidateName(%q) accepted a bad first or last character", name)
		}
	})
}

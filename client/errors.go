package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxErrorBody bounds how much of an error answer is read: enough for
// any message meant for a person, little enough that a misbehaving
// server cannot make the client buffer a large body.
const maxErrorBody = 64 << 10

// maxPlainMessage bounds a message taken from a body that is not the
// API's JSON error, such as a proxy's HTML page.
const maxPlainMessage = 200

// APIError is a non-2xx answer of the API.
type APIError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Message is the server's {"error": ...} message, or the status text
	// when the body carried none.
	Message string
}

// Error reads well after "error: " in a terminal, for example
// "name already taken (409 Conflict)".
func (e *APIError) Error() string {
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	status = strings.TrimSpace(status)
	if e.Message == "" || e.Message == http.StatusText(e.StatusCode) {
		return status
	}
	return fmt.Sprintf("%s (%s)", e.Message, status)
}

// StatusCode returns the HTTP status of an *APIError in err's chain, or
// 0 when err is not an answer of the API.
func StatusCode(err error) int {
	if e, ok := errors.AsType[*APIError](err); ok {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer: no such function,
// deployment or execution, or one that belongs to another user.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsUnauthorized reports whether err is a 401 answer: the token is
// missing, unknown or expired.
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }

// IsConflict reports whether err is a 409 answer, such as a function name
// that is already taken.
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// checkResponse returns nil for a 2xx answer and an *APIError otherwise,
// reading the message from the body.
func checkResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &APIError{StatusCode: resp.StatusCode, Message: errorMessage(resp, body)}
}

// errorMessage takes the message of an error body: the API's JSON error,
// else a short plain-text body, else the status text.
func errorMessage(resp *http.Response, body []byte) string {
	var e Error
	if json.Unmarshal(body, &e) == nil && strings.TrimSpace(e.Message) != "" {
		return strings.TrimSpace(e.Message)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		if msg := firstLine(body); msg != "" {
			return msg
		}
	}
	return http.StatusText(resp.StatusCode)
}

// firstLine returns the first non-empty line of body, cut short and
// rejected when it is not text.
func firstLine(body []byte) string {
	if !utf8.Valid(body) {
		return ""
	}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > maxPlainMessage {
			line = strings.ToValidUTF8(line[:maxPlainMessage], "") + "..."
		}
		return line
	}
	return ""
}

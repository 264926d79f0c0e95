package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// invokeResult is what invoke prints with --output json.
type invokeResult struct {
	Status  int         `json:"status"`
	Headers http.Header `json:"headers"`
	// Body is the response body when it is UTF-8 text.
	Body string `json:"body"`
	// BodyBase64 holds a body that is not UTF-8 text, base64 encoded.
	BodyBase64 string `json:"body_base64,omitempty"`
}

func (a *app) invokeCommand() *cobra.Command {
	var data string
	var headers []string
	cmd := &cobra.Command{
		Use:   "invoke FUNCTION",
		Short: "Call a function and print its answer",
		Long: `Call a function at its root path with a POST, as its owner, and print
the answer: the status line, the headers, a blank line and the body.

--data sends a body: the text itself, @FILE for a file's content, or @-
for standard input. Without a Content-Type header, a body that is valid
JSON is sent as application/json, any other as application/octet-stream.

The exit code is 0 whenever the function answered, whatever the HTTP
status; it is 1 when the call could not be made or the platform answered
in the function's place (no such function, over capacity, timed out,
instance crashed).`,
		Args: needArgs("FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.loggedIn()
			if err != nil {
				return err
			}
			h, err := parseHeaders(headers)
			if err != nil {
				return err
			}
			body, err := a.readData(data)
			if err != nil {
				return err
			}
			if body != nil && h.Get("Content-Type") == "" {
				h.Set("Content-Type", sniffContentType(body))
			}
			resp, err := c.Invoke(cmd.Context(), args[0], bytes.NewReader(body), h)
			if err != nil {
				return fmt.Errorf("invoke %s: %w", args[0], err)
			}
			defer func() { _ = resp.Body.Close() }() // read whole by printResponse
			return a.printResponse(resp)
		},
	}
	cmd.Flags().StringVarP(&data, "data", "d", "", "request body: JSON text, @FILE or @- for stdin")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	return cmd
}

// readData returns the body --data asks for, or nil when it was not given.
func (a *app) readData(data string) ([]byte, error) {
	name, ok := strings.CutPrefix(data, "@")
	switch {
	case data == "":
		return nil, nil
	case !ok:
		return []byte(data), nil
	case name == "-":
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, fmt.Errorf("read --data from stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read --data file: %w", err)
	}
	return b, nil
}

// sniffContentType picks the Content-Type of a body given without one.
func sniffContentType(body []byte) string {
	if json.Valid(body) {
		return "application/json"
	}
	return "application/octet-stream"
}

// parseHeaders reads --header values of the form "Name: value".
func parseHeaders(values []string) (http.Header, error) {
	h := http.Header{}
	for _, v := range values {
		name, value, ok := strings.Cut(v, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !validHeaderName(name) || strings.ContainsAny(value, "\r\n\x00") {
			return nil, fmt.Errorf("bad --header %q: want 'Name: value'", v)
		}
		h.Add(name, value)
	}
	return h, nil
}

// validHeaderName reports whether name is an HTTP token (RFC 9110).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// printResponse prints a function's answer as text or JSON.
func (a *app) printResponse(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if a.jsonOutput() {
		r := invokeResult{Status: resp.StatusCode, Headers: resp.Header}
		if utf8.Valid(body) {
			r.Body = string(body)
		} else {
			r.BodyBase64 = base64.StdEncoding.EncodeToString(body)
		}
		return a.printJSON(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", resp.Proto, resp.Status)
	for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(body)
	// A terminal prompt would otherwise follow a body without a final
	// newline on the same line; a pipe gets the body byte for byte.
	if len(body) > 0 && body[len(body)-1] != '\n' && a.isTerminal(a.stdout) {
		b.WriteString("\n")
	}
	return a.print(b.String())
}

package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/client"
)

// echoHandler is a function that answers with what it was sent, so that
// a test sees the request as the function saw it. Each call writes two
// lines to stdout and one to stderr.
const echoHandler = `// Package function echoes its calls.
package function

import (
	"fmt"
	"io"
	"log"
	"net/http"
)

// Handle answers 201 with the request's body after "got ", and its
// method, path and some of its headers as X-Seen-* headers.
func Handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Printf("echo %d bytes\nsecond line\n", len(body))
	log.Printf("custom header %q", r.Header.Get("X-Custom"))
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("X-Seen-Method", r.Method)
	h.Set("X-Seen-Path", r.URL.Path)
	h.Set("X-Seen-Content-Type", r.Header.Get("Content-Type"))
	h.Set("X-Seen-Custom", r.Header.Get("X-Custom"))
	h.Add("X-Multi", "b")
	h.Add("X-Multi", "a")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "got %s", body)
}
`

var (
	echoOnce sync.Once
	echoErr  error
)

// echoFunction deploys the echo function once, as the shared user, and
// returns its name.
func echoFunction(t *testing.T) string {
	t.Helper()
	u := builderUser(t)
	echoOnce.Do(func() { echoErr = deployEcho(u) })
	if echoErr != nil {
		t.Fatalf("deploy the echo function: %v", echoErr)
	}
	return "echo"
}

func deployEcho(u *user) error {
	dir, err := os.MkdirTemp("", "cpcli-echo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		client.ManifestFile: "name: echo\nruntime: go\n",
		"go.mod":            "module example.com/echo\n\ngo 1.22\n",
		"handler.go":        echoHandler,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	r := runCLI(u.env, false, "", "deploy", dir)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "status:  active\n") {
		return fmt.Errorf("dart_cloud deploy: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return nil
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	fn := echoFunction(t)
	h := builderUser(t).in(t)
	file := filepath.Join(t.TempDir(), "body.bin")
	if err := os.WriteFile(file, []byte("\x00\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		stdin   string
		args    []string
		wantOut string
	}{
		{
			name: "json-data", args: []string{"-d", `{"a":1}`, "-H", "X-Custom: yes"},
			wantOut: echoAnswer(11, "application/json", "yes", `got {"a":1}`),
		},
		{
			name: "file-data", args: []string{"--data", "@" + file},
			wantOut: echoAnswer(6, "application/octet-stream", "", "got \x00\x01"),
		},
		{
			name: "stdin-data-own-type", stdin: "plain words", args: []string{"-d", "@-", "-H", "content-type: text/plain"},
			wantOut: echoAnswer(15, "text/plain", "", "got plain words"),
		},
		{
			name: "no-data", args: []string{"-H", "X-Custom: a", "-H", "x-custom: b"},
			wantOut: echoAnswer(4, "", "a", "got "),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(tt.stdin, append([]string{"invoke", fn}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("invoke = %+v", r)
			}
			if diff := cmp.Diff(tt.wantOut, normalizeAnswer(r.stdout)); diff != "" {
				t.Errorf("invoke printed (-want +got):\n%s", diff)
			}
		})
	}

	r := h.mustRun("", "invoke", fn, "-o", "json", "-d", "\xff", "-H", "X-Request-Id: my-request-1")
	var res invokeResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("invoke -o json = %q: %v", r.stdout, err)
	}
	if res.Status != 201 || res.Body != "" || res.BodyBase64 != "Z290IP8=" ||
		res.Headers.Get("X-Request-Id") != "my-request-1" || res.Headers.Get("X-Seen-Content-Type") != "application/octet-stream" {
		t.Errorf("invoke -o json = %+v, want 201, the body in base64 and the caller's request id", res)
	}

	// Another user's function does not exist for this one.
	other := newUser(t, b).in(t)
	want := "error: invoke echo: no function \"echo\" (404 Not Found)\n"
	if r := other.run("", "invoke", fn); r.code != 1 || r.stderr != want {
		t.Errorf("invoke of another user's function = %+v, want 404", r)
	}
}

// echoAnswer is what invoke prints for an answer of the echo function,
// with the Date and X-Request-Id values replaced as normalizeAnswer does.
func echoAnswer(length int, contentType, custom, body string) string {
	return fmt.Sprintf("HTTP/1.1 201 Created\nContent-Length: %d\nContent-Type: text/plain\nDate: DATE\n"+
		"X-Multi: b\nX-Multi: a\nX-Request-Id: ID\nX-Seen-Content-Type: %s\nX-Seen-Custom: %s\n"+
		"X-Seen-Method: POST\nX-Seen-Path: /\n\n%s", length, contentType, custom, body)
}

// normalizeAnswer replaces the values of the Date and X-Request-Id
// headers, which change every call.
func normalizeAnswer(s string) string {
	head, body, _ := strings.Cut(s, "\n\n")
	lines := strings.Split(head, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "Date: "):
			lines[i] = "Date: DATE"
		case strings.HasPrefix(l, "X-Request-Id: ") && len(l) > len("X-Request-Id: "):
			lines[i] = "X-Request-Id: ID"
		}
	}
	return strings.Join(lines, "\n") + "\n\n" + body
}

func TestLogs(t *testing.T) {
	t.Parallel()
	requireBackend(t)
	fn := echoFunction(t)
	h := builderUser(t).in(t)
	marker := "logs-" + randHex(4)
	reqID := "req-" + marker
	h.mustRun("", "invoke", fn, "-d", "12345", "-H", "X-Custom: "+marker, "-H", "X-Request-Id: "+reqID)

	entry := waitForLog(t, h, fn, reqID)
	if entry.Stream != "call" {
		t.Errorf("the call's log entry has stream %q, want call", entry.Stream)
	}
	for _, want := range []string{"echo 5 bytes\nsecond line\n", fmt.Sprintf("custom header %q", marker)} {
		if !strings.Contains(entry.Text, want) {
			t.Errorf("the call's log entry %q lacks %q", entry.Text, want)
		}
	}

	// Text output: each line of the entry with its time, stream and
	// request id.
	r := h.mustRun("", "logs", fn, "--since", "1h")
	var got []string
	for line := range strings.Lines(r.stdout) {
		if strings.Contains(line, " "+reqID+" ") {
			got = append(got, line)
		}
	}
	prefix := regexp.QuoteMeta(entry.Time.UTC().Format("2006-01-02T15:04:05.000Z") + " call   " + reqID + " ")
	want := []*regexp.Regexp{
		regexp.MustCompile("^" + prefix + "echo 5 bytes\n$"),
		regexp.MustCompile("^" + prefix + "second line\n$"),
		regexp.MustCompile("^" + prefix + `\d{4}/\d\d/\d\d \d\d:\d\d:\d\d custom header "` + marker + `"` + "\n$"),
	}
	if len(got) != len(want) {
		t.Fatalf("logs printed %d lines of the call, want %d:\n%s", len(got), len(want), r.stdout)
	}
	for i := range want {
		// The order of stdout and stderr lines within a call is not kept.
		if !slicesAnyMatch(want[i], got) {
			t.Errorf("logs printed no line matching %s:\n%s", want[i], strings.Join(got, ""))
		}
	}

	// --since after the entry leaves it out; --limit caps the entries.
	since := entry.Time.Add(time.Millisecond).Format(time.RFC3339Nano)
	for _, e := range logEntries(t, h, fn, "--since", since) {
		if e.RequestID == reqID || e.Time.Before(entry.Time) {
			t.Errorf("logs --since %s returned %+v, which is older", since, e)
		}
	}
	h.mustRun("", "invoke", fn, "-d", "more")
	waitForLogs(t, h, fn, 2)
	if es := logEntries(t, h, fn, "--limit", "1"); len(es) != 1 {
		t.Errorf("logs --limit 1 returned %d entries, want 1", len(es))
	}
}

func slicesAnyMatch(re *regexp.Regexp, lines []string) bool {
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// logEntries runs logs -o json with args.
func logEntries(t *testing.T, h *harness, fn string, args ...string) []client.LogEntry {
	t.Helper()
	r := h.mustRun("", append([]string{"logs", fn, "-o", "json"}, args...)...)
	var es []client.LogEntry
	if err := json.Unmarshal([]byte(r.stdout), &es); err != nil {
		t.Fatalf("logs -o json = %q: %v", r.stdout, err)
	}
	return es
}

// logWait bounds the wait for a call's output to be recorded, which the
// backend does in the background.
const logWait = 2 * time.Minute

// waitForLog waits until the logs hold the output of request reqID.
func waitForLog(t *testing.T, h *harness, fn, reqID string) client.LogEntry {
	t.Helper()
	for deadline := time.Now().Add(logWait); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, e := range logEntries(t, h, fn) {
			if e.RequestID == reqID {
				return e
			}
		}
	}
	t.Fatalf("no log entry of request %s after %v", reqID, logWait)
	return client.LogEntry{}
}

// waitForLogs waits until the logs hold at least n entries.
func waitForLogs(t *testing.T, h *harness, fn string, n int) {
	t.Helper()
	for deadline := time.Now().Add(logWait); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if len(logEntries(t, h, fn)) >= n {
			return
		}
	}
	t.Fatalf("fewer than %d log entries after %v", n, logWait)
}

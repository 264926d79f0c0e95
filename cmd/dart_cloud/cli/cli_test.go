package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/client"
)

// harness runs commands with a private config file and environment.
type harness struct {
	t        *testing.T
	env      map[string]string
	config   string
	terminal bool // pretend stdin is a terminal
}

func newHarness(t *testing.T, backendURL string) *harness {
	config := filepath.Join(t.TempDir(), "config.json")
	env := map[string]string{EnvConfig: config}
	if backendURL != "" {
		env[EnvURL] = backendURL
	}
	return &harness{t: t, env: env, config: config}
}

// result is what one command run produced.
type result struct {
	stdout, stderr string
	code           int
}

// run executes dart_cloud with args, feeding stdin.
func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(func(k string) string { return h.env[k] }, strings.NewReader(stdin), &out, &errOut)
	a.pollInterval = 10 * time.Millisecond
	if h.terminal {
		a.isTerminal = func(v any) bool { _, ok := v.(*strings.Reader); return ok }
	}
	code := a.run(context.Background(), args)
	return result{out.String(), errOut.String(), code}
}

// login saves a session for the test backend.
func (h *harness) login() {
	h.t.Helper()
	if r := h.run("ada@example.com\nsecret-pass\n", "login"); r.code != 0 {
		h.t.Fatalf("login: %+v", r)
	}
}

func TestLoginSavesSession(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	r := h.run("ada@example.com\nsecret-pass\n", "login")
	want := result{stdout: "logged in as ada@example.com at " + b.srv.URL + "\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Fatalf("login (-want +got):\n%s", diff)
	}
	cfg, err := configFile{path: h.config}.load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Config{URL: b.srv.URL, Token: "tok-1", Email: "ada@example.com"}, cfg); diff != "" {
		t.Errorf("saved config (-want +got):\n%s", diff)
	}
	info, err := os.Stat(h.config)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("config mode = %v, want 0600", info.Mode().Perm())
	}
}

func TestLoginFailures(t *testing.T) {
	b := newTestBackend(t)
	tests := []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{name: "wrong-password", stdin: "ada@example.com\nnope\n", args: []string{"login"},
			wantErr: "error: log in: wrong email or password (401 Unauthorized)\n"},
		{name: "no-input", stdin: "", args: []string{"login"},
			wantErr: "error: no answer to \"Email:\" on standard input\n"},
		{name: "no-password", stdin: "ada@example.com\n", args: []string{"login"},
			wantErr: "error: no answer to \"Password:\" on standard input\n"},
		{name: "email-flag", stdin: "nope\n", args: []string{"login", "--email", "ada@example.com"},
			wantErr: "error: log in: wrong email or password (401 Unauthorized)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, b.srv.URL)
			r := h.run(tt.stdin, tt.args...)
			if r.code != 1 || r.stderr != tt.wantErr {
				t.Errorf("%v = %d %q, want 1 %q", tt.args, r.code, r.stderr, tt.wantErr)
			}
			if _, err := os.Stat(h.config); err == nil {
				t.Error("a failed login wrote the config file")
			}
		})
	}
}

func TestRegisterAsksTwiceOnTerminal(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	h.terminal = true
	// On a "terminal" made of a strings.Reader, askSecret cannot turn
	// echo off and falls back to reading lines, which is what we feed.
	r := h.run("secret-pass\nsecret-typo\n", "register", "--email", "ada@example.com")
	if r.code != 1 || !strings.Contains(r.stderr, "the passwords differ") {
		t.Errorf("register with differing passwords = %+v, want the mismatch refused", r)
	}
	r = h.run("secret-pass\nsecret-pass\n", "register", "--email", "ada@example.com")
	if r.code != 0 || r.stdout != "registered and logged in as ada@example.com at "+b.srv.URL+"\n" {
		t.Errorf("register = %+v", r)
	}
}

func TestWhoamiAndLogout(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	if r := h.run("", "whoami"); r.code != 1 || !strings.Contains(r.stderr, "not logged in to "+b.srv.URL) {
		t.Errorf("whoami before login = %+v, want not logged in", r)
	}
	h.login()
	r := h.run("", "whoami")
	want := "ada@example.com\nid:      u1\nserver:  " + b.srv.URL + "\nsince:   2026-12-03 13:00:00Z\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("whoami = %+v, want stdout %q", r, want)
	}
	r = h.run("", "whoami", "-o", "json")
	var u client.User
	if err := json.Unmarshal([]byte(r.stdout), &u); err != nil || u.Email != "ada@example.com" {
		t.Errorf("whoami -o json = %q (%v), want the user", r.stdout, err)
	}
	if r := h.run("", "logout"); r.code != 0 || r.stdout != "logged out of "+b.srv.URL+"\n" {
		t.Errorf("logout = %+v", r)
	}
	b.locked(func() {
		if b.token != "" {
			t.Error("logout did not end the session on the backend")
		}
	})
	cfg, _ := configFile{path: h.config}.load()
	if cfg.Token != "" || cfg.Email != "ada@example.com" {
		t.Errorf("config after logout = %+v, want the token gone and the email kept", cfg)
	}
	if r := h.run("", "logout"); r.code != 0 || !strings.Contains(r.stdout, "not logged in") {
		t.Errorf("second logout = %+v", r)
	}
}

func TestExpiredTokenAdvice(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	h.login()
	b.locked(func() { b.token = "rotated" })
	r := h.run("", "list")
	want := "error: list functions: missing or expired token (401 Unauthorized): run dart_cloud login\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("list with an expired token = %d %q, want 1 %q", r.code, r.stderr, want)
	}
}

func TestUnreachableBackend(t *testing.T) {
	b := newTestBackend(t)
	b.srv.Close()
	h := newHarness(t, b.srv.URL)
	h.env[EnvToken] = "tok-1"
	r := h.run("", "list")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "error: list functions: send request:") ||
		!strings.Contains(r.stderr, "is the backend running?") {
		t.Errorf("list on a closed server = %+v", r)
	}
}

// writeProject scaffolds a function named name in a new directory.
func writeProject(t *testing.T, h *harness, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if r := h.run("", "init", dir); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	return dir
}

func TestDeployFlow(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	h.login()
	dir := writeProject(t, h, "hello")

	r := h.run("", "deploy", dir)
	wantOut := "status:  active\nversion: 1\nurl:     " + b.srv.URL + "/f/hello/\n"
	if r.code != 0 || r.stdout != wantOut {
		t.Fatalf("first deploy = %+v, want stdout %q", r, wantOut)
	}
	for _, want := range []string{"created function hello\n", "packed 5 files", "uploading ",
		"uploaded version 1; building\n", "STEP 1/2: building version 1\nSTEP 2/2: done\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("first deploy stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	r = h.run("", "deploy", dir)
	if r.code != 0 || r.stdout != "no changes since the active version (use --force)\n" {
		t.Errorf("unchanged deploy = %+v", r)
	}
	b.locked(func() {
		if n := len(b.deps["hello"]); n != 1 {
			t.Errorf("unchanged deploy made %d versions, want 1", n)
		}
	})

	r = h.run("", "deploy", dir, "--force")
	if r.code != 0 || !strings.Contains(r.stdout, "version: 2\n") {
		t.Errorf("forced deploy = %+v, want version 2", r)
	}

	if err := os.WriteFile(filepath.Join(dir, "FAIL"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = h.run("", "deploy", dir)
	wantErr := "error: version 3 of hello failed: compile: undefined: Handle\n"
	if r.code != 1 || r.stdout != "status:  failed\nversion: 3\n" || !strings.HasSuffix(r.stderr, wantErr) {
		t.Errorf("failing deploy = %+v, want exit 1 ending %q", r, wantErr)
	}
	if !strings.Contains(r.stderr, "./handler.go:3: compile: undefined: Handle\n") {
		t.Errorf("failing deploy did not stream the build log:\n%s", r.stderr)
	}
}

func TestDeployStopsBeforeUpload(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	h.login()
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{name: "no-manifest", files: map[string]string{"handler.go": "package function\n"},
			wantErr: "error: no containerpub.yaml in DIR: run dart_cloud init there, or pass the function's directory\n"},
		{name: "no-name", files: map[string]string{client.ManifestFile: "runtime: go\n"},
			wantErr: "error: DIR/containerpub.yaml has no name\n"},
		{name: "bad-name", files: map[string]string{client.ManifestFile: "name: Hello\n"},
			wantErr: "error: DIR/containerpub.yaml: invalid function name \"Hello\": must start with a lowercase letter\n"},
		{name: "unknown-key", files: map[string]string{client.ManifestFile: "name: hello\nmemory: 5\n"},
			wantErr: "field memory not found"},
		{name: "go-errors", files: map[string]string{client.ManifestFile: "name: hello\n", "handler.go": "package main\n"},
			wantErr: "error: the Go source has 3 problem(s); nothing was uploaded\n"},
		{name: "unsafe-link", files: map[string]string{client.ManifestFile: "name: hello\n", "go.mod": "module x\n",
			"handler.go": "package function\nimport \"net/http\"\nfunc Handle(w http.ResponseWriter, r *http.Request) {}\n",
			"link":       "->/etc/passwd"},
			wantErr: "symlink points outside the source tree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(dir, name)
				var err error
				if target, ok := strings.CutPrefix(content, "->"); ok {
					err = os.Symlink(target, p)
				} else {
					err = os.WriteFile(p, []byte(content), 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			r := h.run("", "deploy", dir)
			want := strings.ReplaceAll(tt.wantErr, "DIR", dir)
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("deploy = %+v, want exit 1 with %q", r, want)
			}
			b.locked(func() {
				if len(b.fns) != 0 {
					t.Errorf("deploy created %d functions despite the error", len(b.fns))
				}
			})
		})
	}
}

func TestListInfoVersions(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	h.login()
	if r := h.run("", "ls"); r.code != 0 || !strings.HasPrefix(r.stdout, "no functions yet") {
		t.Errorf("ls with no functions = %+v", r)
	}
	if r := h.run("", "list", "-o", "json"); r.code != 0 || r.stdout != "[]\n" {
		t.Errorf("list -o json with no functions = %+v, want []", r)
	}
	dir := writeProject(t, h, "hello")
	if r := h.run("", "deploy", dir); r.code != 0 {
		t.Fatalf("deploy: %+v", r)
	}
	r := h.run("", "list")
	want := "NAME   STATUS  VERSION  URL                              UPDATED\n" +
		"hello  active  1        " + b.srv.URL + "/f/hello/  2026-12-03 13:00:00Z\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("list = %+v\nwant %q", r, want)
	}

	r = h.run("", "info", "hello", "-o", "json")
	var info functionInfo
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("info -o json = %q: %v", r.stdout, err)
	}
	if info.Function.Name != "hello" || len(info.Deployments) != 1 || info.URL != b.srv.URL+"/f/hello/" {
		t.Errorf("info -o json = %+v", info)
	}
	r = h.run("", "info", "hello")
	for _, line := range []string{"name:     hello\n", "status:   active\n", "version:  1\n",
		"VERSION  STATUS  CREATED               SOURCE        ERROR\n"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("info output lacks %q:\n%s", line, r.stdout)
		}
	}

	r = h.run("", "versions", "hello", "-o", "json")
	var ds []client.Deployment
	if err := json.Unmarshal([]byte(r.stdout), &ds); err != nil || len(ds) != 1 || ds[0].Version != 1 {
		t.Errorf("versions -o json = %q (%v)", r.stdout, err)
	}
	if r := h.run("", "info", "nope"); r.code != 1 || r.stderr != "error: get function nope: function nope not found (404 Not Found)\n" {
		t.Errorf("info of a missing function = %+v", r)
	}
}

func TestDelete(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	h.login()
	for _, name := range []string{"one", "two"} {
		if r := h.run("", "deploy", writeProject(t, h, name)); r.code != 0 {
			t.Fatalf("deploy %s: %+v", name, r)
		}
	}
	r := h.run("y\n", "delete", "one")
	want := "error: refusing to delete one without --yes: standard input is not a terminal\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("delete without a terminal = %+v, want %q", r, want)
	}
	h.terminal = true
	if r := h.run("n\n", "delete", "one"); r.code != 1 || !strings.Contains(r.stderr, "Delete function one and all its versions? [y/N] ") {
		t.Errorf("delete answered no = %+v", r)
	}
	if r := h.run("yes\n", "delete", "one"); r.code != 0 || r.stdout != "deleted one\n" {
		t.Errorf("delete answered yes = %+v", r)
	}
	h.terminal = false
	if r := h.run("", "delete", "--yes", "two"); r.code != 0 || r.stdout != "deleted two\n" {
		t.Errorf("delete --yes = %+v", r)
	}
	b.locked(func() {
		if diff := cmp.Diff([]string{"one", "two"}, b.deleted); diff != "" {
			t.Errorf("deleted (-want +got):\n%s", diff)
		}
	})
}

func TestInvoke(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	h.login()
	if r := h.run("", "deploy", writeProject(t, h, "hello")); r.code != 0 {
		t.Fatalf("deploy: %+v", r)
	}
	file := filepath.Join(t.TempDir(), "body.bin")
	os.WriteFile(file, []byte("\x00\x01"), 0o644)
	tests := []struct {
		name    string
		stdin   string
		args    []string
		want    invocation
		wantOut string
	}{
		{
			name: "json-data", args: []string{"invoke", "hello", "-d", `{"a":1}`, "-H", "X-Custom: yes"},
			want:    invocation{ContentType: "application/json", Custom: "yes", Body: `{"a":1}`},
			wantOut: "HTTP/1.1 201 Created\nContent-Length: 11\nContent-Type: text/plain\nDate: DATE\nX-Multi: b\nX-Multi: a\nX-Request-Id: req-1\n\ngot {\"a\":1}",
		},
		{
			name: "file-data", args: []string{"invoke", "hello", "--data", "@" + file},
			want:    invocation{ContentType: "application/octet-stream", Body: "\x00\x01"},
			wantOut: "HTTP/1.1 201 Created\nContent-Length: 6\nContent-Type: text/plain\nDate: DATE\nX-Multi: b\nX-Multi: a\nX-Request-Id: req-1\n\ngot \x00\x01",
		},
		{
			name: "stdin-data-own-type", stdin: "plain words", args: []string{"invoke", "hello", "-d", "@-", "-H", "content-type: text/plain"},
			want:    invocation{ContentType: "text/plain", Body: "plain words"},
			wantOut: "HTTP/1.1 201 Created\nContent-Length: 15\nContent-Type: text/plain\nDate: DATE\nX-Multi: b\nX-Multi: a\nX-Request-Id: req-1\n\ngot plain words",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.locked(func() { b.invoked = nil })
			r := h.run(tt.stdin, tt.args...)
			if r.code != 0 {
				t.Fatalf("invoke = %+v", r)
			}
			got := dateRE(r.stdout)
			if got != tt.wantOut {
				t.Errorf("invoke printed %q, want %q", got, tt.wantOut)
			}
			b.locked(func() {
				if diff := cmp.Diff([]invocation{tt.want}, b.invoked); diff != "" {
					t.Errorf("backend saw (-want +got):\n%s", diff)
				}
			})
		})
	}
	r := h.run("", "invoke", "hello", "-o", "json", "-d", "\xff")
	var res invokeResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("invoke -o json = %q: %v", r.stdout, err)
	}
	if res.Status != 201 || res.Body != "" || res.BodyBase64 != "Z290IP8=" || res.Headers.Get("X-Request-Id") != "req-1" {
		t.Errorf("invoke -o json = %+v", res)
	}
	r = h.run("", "invoke", "nope")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "HTTP/1.1 404 Not Found\n") {
		t.Errorf("invoke of a missing function = %+v, want the 404 printed and exit 0", r)
	}
}

// dateRE replaces the value of a Date header, which changes every run.
func dateRE(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Date: ") {
			lines[i] = "Date: DATE"
		}
	}
	return strings.Join(lines, "\n")
}

func TestLogs(t *testing.T) {
	b := newTestBackend(t)
	h := newHarness(t, b.srv.URL)
	h.login()
	if r := h.run("", "deploy", writeProject(t, h, "hello")); r.code != 0 {
		t.Fatalf("deploy: %+v", r)
	}
	logs := []client.LogEntry{
		{Time: testTime, RequestID: "r1", Stream: "stdout", Text: "one\ntwo\n"},
		{Time: testTime.Add(1500 * time.Millisecond), Stream: "system", Text: "instance exited"},
	}
	b.locked(func() { b.logs = logs })
	r := h.run("", "logs", "hello", "--since", "2026-12-03T12:00:00Z", "--limit", "5")
	want := "2026-12-03T13:00:00.000Z stdout r1 one\n" +
		"2026-12-03T13:00:00.000Z stdout r1 two\n" +
		"2026-12-03T13:00:01.500Z system - instance exited\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("logs = %+v\nwant %q", r, want)
	}
	b.locked(func() {
		if b.logQuery != "limit=5&since=2026-12-03T12%3A00%3A00Z" {
			t.Errorf("logs asked %q", b.logQuery)
		}
	})
	r = h.run("", "logs", "hello", "-o", "json")
	var got []client.LogEntry
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("logs -o json = %q: %v", r.stdout, err)
	}
	if diff := cmp.Diff(logs, got); diff != "" {
		t.Errorf("logs -o json (-want +got):\n%s", diff)
	}
	b.locked(func() {
		if b.logQuery != "" {
			t.Errorf("logs without flags asked %q, want no query", b.logQuery)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t, "http://127.0.0.1:1")
	h.env[EnvToken] = "tok"
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad-output", []string{"list", "-o", "xml"}, "error: unknown --output \"xml\": want text or json\n"},
		{"unknown-flag", []string{"list", "--nope"}, "error: unknown flag: --nope (see dart_cloud list --help)\n"},
		{"missing-arg", []string{"info"}, "error: missing FUNCTION (usage: dart_cloud info FUNCTION [flags])\n"},
		{"extra-arg", []string{"versions", "a", "b"}, "error: unexpected argument \"b\" (usage: dart_cloud versions FUNCTION [flags])\n"},
		{"unknown-command", []string{"deplo"}, "error: unknown command \"deplo\" for \"dart_cloud\"\n\nDid you mean this?\n\tdeploy\n\n"},
		{"bad-header", []string{"invoke", "f", "-H", "no colon"}, "error: bad --header \"no colon\": want 'Name: value'\n"},
		{"bad-since", []string{"logs", "f", "--since", "yesterday"}, "error: bad --since \"yesterday\": want a duration such as 1h or 2d, or a time such as 2026-12-03T13:00:00Z\n"},
		{"bad-limit", []string{"logs", "f", "--limit", "-1"}, "error: bad --limit -1: want 0 or more\n"},
		{"bad-data-file", []string{"invoke", "f", "-d", "@/nonexistent/x"}, "error: read --data file: open /nonexistent/x: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run("", tt.args...)
			if r.code != 1 || r.stderr != tt.wantErr || r.stdout != "" {
				t.Errorf("%v = %d out %q err %q, want 1 err %q", tt.args, r.code, r.stdout, r.stderr, tt.wantErr)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name      string
		flag      string
		env       map[string]string
		saved     Config
		wantURL   string
		wantToken string
	}{
		{name: "default", wantURL: DefaultURL},
		{name: "saved", saved: Config{URL: "http://saved:1/", Token: "t"}, wantURL: "http://saved:1", wantToken: "t"},
		{name: "env-url-same-backend", env: map[string]string{EnvURL: "http://saved:1"},
			saved: Config{URL: "http://saved:1", Token: "t"}, wantURL: "http://saved:1", wantToken: "t"},
		{name: "env-url-other-backend-gets-no-token", env: map[string]string{EnvURL: "http://other:1"},
			saved: Config{URL: "http://saved:1", Token: "t"}, wantURL: "http://other:1"},
		{name: "flag-beats-env", flag: "http://flag:1", env: map[string]string{EnvURL: "http://env:1"},
			wantURL: "http://flag:1"},
		{name: "env-token-beats-saved", env: map[string]string{EnvToken: "envtok"},
			saved: Config{URL: "http://saved:1", Token: "t"}, wantURL: "http://saved:1", wantToken: "envtok"},
		{name: "env-token-any-backend", flag: "http://flag:1", env: map[string]string{EnvToken: "envtok"},
			wantURL: "http://flag:1", wantToken: "envtok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "c.json")
			if err := (configFile{path: config}).save(tt.saved); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{EnvConfig: config}
			for k, v := range tt.env {
				env[k] = v
			}
			a := newApp(func(k string) string { return env[k] }, nil, nil, nil)
			a.urlFlag = tt.flag
			s, err := a.settings()
			if err != nil {
				t.Fatal(err)
			}
			if s.url != tt.wantURL || s.token != tt.wantToken {
				t.Errorf("settings() = %q %q, want %q %q", s.url, s.token, tt.wantURL, tt.wantToken)
			}
		})
	}
}

func TestConfigPermissions(t *testing.T) {
	// The default location is under the user's config directory, which
	// os.UserConfigDir takes from XDG_CONFIG_HOME on Unix.
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("HOME", home)
	f, err := locateConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if f.path != filepath.Join(home, "dart_cloud", "config.json") || !f.ownDir {
		t.Fatalf("locateConfig() = %+v, want the dart_cloud directory under %s", f, home)
	}
	if err := f.save(Config{URL: "http://x", Token: "t"}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, filepath.Dir(f.path), 0o700)
	checkMode(t, f.path, 0o600)

	// Loosen both, as a careless copy would; loading fixes them.
	os.Chmod(filepath.Dir(f.path), 0o755)
	os.Chmod(f.path, 0o644)
	cfg, err := f.load()
	if err != nil || cfg.Token != "t" {
		t.Fatalf("load() = %+v, %v", cfg, err)
	}
	checkMode(t, filepath.Dir(f.path), 0o700)
	checkMode(t, f.path, 0o600)
}

func TestConfigInSharedDirectory(t *testing.T) {
	shared := t.TempDir()
	os.Chmod(shared, 0o777)
	f, err := locateConfig(func(k string) string {
		if k == EnvConfig {
			return filepath.Join(shared, "c.json")
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.save(Config{Token: "t"}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, shared, 0o777)
	checkMode(t, f.path, 0o600)
}

func TestConfigCorrupt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(p, []byte("{not json"), 0o600)
	if _, err := (configFile{path: p}).load(); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("load(corrupt) error = %v, want one naming the file", err)
	}
}

func checkMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %v, want %v", p, got, want)
	}
}

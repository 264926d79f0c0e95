package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
	return runCLI(h.env, h.terminal, stdin, args...)
}

// runCLI executes dart_cloud in this process with the environment env.
func runCLI(env map[string]string, terminal bool, stdin string, args ...string) result {
	var out, errOut bytes.Buffer
	a := newApp(func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	a.pollInterval = 100 * time.Millisecond
	if terminal {
		a.isTerminal = func(v any) bool { _, ok := v.(*strings.Reader); return ok }
	}
	code := a.run(context.Background(), args)
	return result{out.String(), errOut.String(), code}
}

// mustRun runs a command and fails the test unless it succeeds.
func (h *harness) mustRun(stdin string, args ...string) result {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("dart_cloud %s: exit %d\nstdout: %s\nstderr: %s",
			strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// offlineURL is a local port nothing listens on (port 1 is reserved),
// for tests that must not reach a backend: any request the CLI sent would
// fail with "connection refused" instead of the error they expect.
const offlineURL = "http://127.0.0.1:1"

// offlineHarness is a harness with a token, pointed at a closed port.
func offlineHarness(t *testing.T) *harness {
	h := newHarness(t, offlineURL)
	h.env[EnvToken] = "tok"
	return h
}

func TestLoginSavesSession(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	u := newUser(t, b)
	// Log in from a second machine, as it were: a config file of its own.
	h := newHarness(t, b.URL)
	r := h.run(u.email+"\n"+testPassword+"\n", "login")
	want := result{stdout: "logged in as " + u.email + " at " + b.URL + "\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Fatalf("login (-want +got):\n%s", diff)
	}
	cfg, err := configFile{path: h.config}.load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Config{URL: b.URL, Email: u.email}, cfg, cmpopts.IgnoreFields(Config{}, "Token")); diff != "" {
		t.Errorf("saved config (-want +got):\n%s", diff)
	}
	me, err := client.New(b.URL, cfg.Token).Me(context.Background())
	if err != nil || me.ID != u.id {
		t.Errorf("the saved token's user = %+v, %v; want %s", me, err, u.id)
	}
	checkMode(t, h.config, 0o600)
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	u := newUser(t, b)
	tests := []struct {
		name, stdin string
		args        []string
	}{
		{name: "wrong-password", stdin: u.email + "\nnot-the-password\n", args: []string{"login"}},
		{name: "unknown-email", stdin: "nobody-" + randHex(4) + "@example.com\n" + testPassword + "\n", args: []string{"login"}},
		{name: "email-flag", stdin: "not-the-password\n", args: []string{"login", "--email", u.email}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, b.URL)
			r := h.run(tt.stdin, tt.args...)
			// The same answer for an unknown email and a wrong password
			// tells nobody which emails have accounts.
			want := "error: log in: wrong email or password (401 Unauthorized)\n"
			if r.code != 1 || r.stderr != want {
				t.Errorf("%v = %d %q, want 1 %q", tt.args, r.code, r.stderr, want)
			}
			if _, err := os.Stat(h.config); err == nil {
				t.Error("a failed login wrote the config file")
			}
		})
	}
}

func TestLoginPrompts(t *testing.T) {
	tests := []struct {
		name, stdin string
		wantErr     string
	}{
		{name: "no-input", stdin: "", wantErr: "error: no answer to \"Email:\" on standard input\n"},
		{name: "no-password", stdin: "ada@example.com\n", wantErr: "error: no answer to \"Password:\" on standard input\n"},
		{name: "empty-email", stdin: "\nsecret-pass\n", wantErr: "error: no email given\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, offlineURL)
			r := h.run(tt.stdin, "login")
			if r.code != 1 || r.stderr != tt.wantErr {
				t.Errorf("login = %d %q, want 1 %q", r.code, r.stderr, tt.wantErr)
			}
		})
	}
}

func TestRegisterPasswordsDiffer(t *testing.T) {
	h := newHarness(t, offlineURL)
	h.terminal = true
	// On a "terminal" made of a strings.Reader, askSecret cannot turn
	// echo off and falls back to reading lines, which is what we feed.
	r := h.run("secret-pass\nsecret-typo\n", "register", "--email", "ada@example.com")
	if r.code != 1 || r.stderr != "error: the passwords differ\n" {
		t.Errorf("register with differing passwords = %+v, want the mismatch refused", r)
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	h := newHarness(t, b.URL)
	h.terminal = true
	email := "term-" + randHex(4) + "@example.com"
	u := &user{email: email}
	r := h.run(testPassword+"\n"+testPassword+"\n", "register", "--email", email)
	if r.code != 0 || r.stdout != "registered and logged in as "+email+" at "+b.URL+"\n" {
		t.Fatalf("register = %+v", r)
	}
	t.Cleanup(func() {
		if err := u.remove(b); err != nil {
			t.Error(err)
		}
	})
	r = h.run("", "whoami", "-o", "json")
	var me client.User
	if err := json.Unmarshal([]byte(r.stdout), &me); err != nil || me.Email != email {
		t.Errorf("whoami -o json after register = %+v (%v), want %s", r, err, email)
	}
	u.id = me.ID
	// Emails are case-insensitive: the same one in capitals is taken.
	h.terminal = false
	r = h.run(testPassword+"\n", "register", "--email", strings.ToUpper(email))
	want := "error: register: an account with email " + email + " exists: log in instead (409 Conflict)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("register of a taken email = %+v, want %q", r, want)
	}
	r = h.run("short\n", "register", "--email", "other-"+email)
	want = "error: register: password must be 8 to 256 bytes long (400 Bad Request)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("register with a short password = %+v, want %q", r, want)
	}
}

func TestWhoamiNotLoggedIn(t *testing.T) {
	h := newHarness(t, offlineURL)
	want := "error: not logged in to " + offlineURL + ": run dart_cloud login, or set " + EnvToken + "\n"
	if r := h.run("", "whoami"); r.code != 1 || r.stderr != want {
		t.Errorf("whoami before login = %+v, want %q", r, want)
	}
	if r := h.run("", "logout"); r.code != 0 || r.stdout != "not logged in to "+offlineURL+"\n" {
		t.Errorf("logout before login = %+v", r)
	}
}

func TestWhoamiAndLogout(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	u := newUser(t, b)
	h := u.in(t)
	c, err := u.client(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := h.run("", "whoami")
	want := u.email + "\nid:      " + u.id + "\nserver:  " + b.URL +
		"\nsince:   " + me.CreatedAt.UTC().Format("2006-01-02 15:04:05Z") + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("whoami = %+v, want stdout %q", r, want)
	}
	r = h.run("", "whoami", "-o", "json")
	var got client.User
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("whoami -o json = %q: %v", r.stdout, err)
	}
	if diff := cmp.Diff(me, got); diff != "" {
		t.Errorf("whoami -o json (-want +got):\n%s", diff)
	}

	token := savedToken(t, h)
	if r := h.run("", "logout"); r.code != 0 || r.stdout != "logged out of "+b.URL+"\n" {
		t.Errorf("logout = %+v", r)
	}
	if _, err := client.New(b.URL, token).Me(context.Background()); !client.IsUnauthorized(err) {
		t.Errorf("Me with the token after logout: %v, want 401", err)
	}
	cfg, _ := configFile{path: h.config}.load()
	if cfg.Token != "" || cfg.Email != u.email {
		t.Errorf("config after logout = %+v, want the token gone and the email kept", cfg)
	}
	if r := h.run("", "logout"); r.code != 0 || r.stdout != "not logged in to "+b.URL+"\n" {
		t.Errorf("second logout = %+v", r)
	}
	// A session ended elsewhere: logout still forgets it and succeeds.
	h.mustRun(u.email+"\n"+testPassword+"\n", "login")
	if err := client.New(b.URL, savedToken(t, h)).Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := h.run("", "logout"); r.code != 0 || r.stdout != "logged out of "+b.URL+"\n" {
		t.Errorf("logout of an ended session = %+v", r)
	}
}

// savedToken returns the token in the harness's config file.
func savedToken(t *testing.T, h *harness) string {
	t.Helper()
	cfg, err := configFile{path: h.config}.load()
	if err != nil || cfg.Token == "" {
		t.Fatalf("config = %+v, %v; want a token", cfg, err)
	}
	return cfg.Token
}

func TestExpiredTokenAdvice(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	u := newUser(t, b)
	h := u.in(t)
	// The session ends behind the CLI's back, as when it expires.
	if err := client.New(b.URL, savedToken(t, h)).Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, command, wantErr string
	}{
		{name: "ended-session", command: "list", wantErr: "error: list functions: MSG"},
		{name: "made-up-token", token: "not-a-token", command: "whoami", wantErr: "error: who am i: MSG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.env[EnvToken] = tt.token
			r := h.run("", tt.command)
			want := strings.ReplaceAll(tt.wantErr, "MSG",
				"invalid or expired token (401 Unauthorized): run dart_cloud login\n")
			if r.code != 1 || r.stderr != want {
				t.Errorf("%s = %d %q, want 1 %q", tt.command, r.code, r.stderr, want)
			}
		})
	}
}

func TestUnreachableBackend(t *testing.T) {
	h := offlineHarness(t)
	r := h.run("", "list")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "error: list functions: send request:") ||
		!strings.Contains(r.stderr, "is the backend running?") {
		t.Errorf("list on a closed port = %+v", r)
	}
}

// writeProject scaffolds a function named name in a new directory.
func writeProject(t *testing.T, h *harness, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	h.mustRun("", "init", dir)
	return dir
}

func TestDeployStopsBeforeUpload(t *testing.T) {
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
			// Nothing listens at the backend's URL: had deploy sent a
			// request, it would have failed with another error.
			r := offlineHarness(t).run("", "deploy", dir)
			want := strings.ReplaceAll(tt.wantErr, "DIR", dir)
			if r.code != 1 || !strings.Contains(r.stderr, want) || r.stdout != "" {
				t.Errorf("deploy = %+v, want exit 1 with %q", r, want)
			}
		})
	}
}

// brokenHandler is a handler that parses, so that the CLI's checks pass,
// but does not compile: only the backend's build finds the mistake.
const brokenHandler = `package function

import "net/http"

// Handle uses a name that is defined nowhere.
func Handle(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte(undefinedGreeting))
}
`

func TestDeployFlow(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	h := builderUser(t).in(t)
	const name = "greeter"
	dir := writeProject(t, h, name)

	r := h.mustRun("", "deploy", dir)
	wantOut := "status:  active\nversion: 1\nurl:     " + b.URL + "/f/" + name + "/\n"
	if r.stdout != wantOut {
		t.Errorf("first deploy printed %q, want %q", r.stdout, wantOut)
	}
	for _, want := range []string{"created function " + name + "\n", "packed 5 files", "\nuploading ",
		"uploaded version 1; building\n",
		// The build log, streamed from the backend.
		"--> building image ", "starting the first instance of version 1\n", "version 1 is active\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("first deploy stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	r = h.mustRun("", "deploy", dir)
	if r.stdout != "no changes since the active version (use --force)\n" || strings.Contains(r.stderr, "uploading") {
		t.Errorf("unchanged deploy = %+v, want nothing uploaded", r)
	}
	checkVersions(t, h, name, []string{client.DeploymentActive})

	r = h.mustRun("", "deploy", dir, "--force")
	if r.stdout != "status:  active\nversion: 2\nurl:     "+b.URL+"/f/"+name+"/\n" {
		t.Errorf("forced deploy printed %q, want version 2 active", r.stdout)
	}

	if err := os.WriteFile(filepath.Join(dir, "handler.go"), []byte(brokenHandler), 0o644); err != nil {
		t.Fatal(err)
	}
	r = h.run("", "deploy", dir)
	if r.code != 1 || r.stdout != "status:  failed\nversion: 3\n" ||
		!regexp.MustCompile(`\nerror: version 3 of `+name+` failed: .*undefinedGreeting.*\n$`).MatchString(r.stderr) {
		t.Errorf("failing deploy = %+v, want exit 1 and the compiler's complaint", r)
	}
	if !regexp.MustCompile(`handler\.go:7:\d+: undefined: undefinedGreeting\n`).MatchString(r.stderr) {
		t.Errorf("failing deploy did not stream the compiler's output:\n%s", r.stderr)
	}
	checkVersions(t, h, name, []string{
		client.DeploymentFailed, client.DeploymentActive, client.DeploymentInactive})

	// The failed version left version 2 answering.
	r = h.mustRun("", "invoke", name, "-o", "json")
	var res invokeResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Status != 200 ||
		res.Body != "{\"message\":\"hello, world\"}\n" {
		t.Errorf("invoke after the failed deploy = %q (%v), want version 2's greeting", r.stdout, err)
	}
	checkListInfo(t, h, b, name)

	if r := h.run("", "delete", "--yes", name); r.code != 0 || r.stdout != "deleted "+name+"\n" {
		t.Errorf("delete --yes %s = %+v", name, r)
	}
	r = h.run("", "info", name)
	if want := "error: get function " + name + ": no function \"" + name + "\" (404 Not Found)\n"; r.code != 1 || r.stderr != want {
		t.Errorf("info after delete = %+v, want %q", r, want)
	}
}

// checkVersions checks what versions -o json says, newest first.
func checkVersions(t *testing.T, h *harness, name string, want []string) {
	t.Helper()
	r := h.mustRun("", "versions", name, "-o", "json")
	var ds []client.Deployment
	if err := json.Unmarshal([]byte(r.stdout), &ds); err != nil {
		t.Fatalf("versions -o json = %q: %v", r.stdout, err)
	}
	var got []string
	for i, d := range ds {
		got = append(got, d.Status)
		if d.Version != len(ds)-i {
			t.Errorf("versions -o json [%d] is version %d, want %d", i, d.Version, len(ds)-i)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("versions of %s, newest first (-want +got):\n%s", name, diff)
	}
}

// checkListInfo checks list and info of a function whose version 2 is
// active after version 3 failed.
func checkListInfo(t *testing.T, h *harness, b *liveBackend, name string) {
	t.Helper()
	r := h.mustRun("", "list", "-o", "json")
	var fns []client.Function
	if err := json.Unmarshal([]byte(r.stdout), &fns); err != nil {
		t.Fatalf("list -o json = %q: %v", r.stdout, err)
	}
	var fn *client.Function
	for i := range fns {
		if fns[i].Name == name {
			fn = &fns[i]
		}
	}
	if fn == nil || fn.Status != client.FunctionActive || fn.ActiveVersion != 2 {
		t.Fatalf("list -o json = %+v, want %s active at version 2", fns, name)
	}
	r = h.mustRun("", "list")
	row := regexp.MustCompile(`(?m)^` + name + ` +active +2 +` + regexp.QuoteMeta(b.URL+"/f/"+name+"/") +
		` +` + regexp.QuoteMeta(fn.UpdatedAt.UTC().Format("2006-01-02 15:04:05Z")) + `$`)
	if !strings.HasPrefix(r.stdout, "NAME ") || !row.MatchString(r.stdout) {
		t.Errorf("list printed\n%s\nwant a header and a row matching %s", r.stdout, row)
	}

	r = h.mustRun("", "info", name, "-o", "json")
	var info functionInfo
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("info -o json = %q: %v", r.stdout, err)
	}
	if diff := cmp.Diff(*fn, info.Function); diff != "" {
		t.Errorf("info -o json differs from list -o json (-list +info):\n%s", diff)
	}
	if info.URL != b.URL+"/f/"+name+"/" || len(info.Deployments) != 3 || info.Deployments[0].Error == "" {
		t.Errorf("info -o json = %+v, want the URL and 3 versions, the newest failed", info)
	}
	r = h.mustRun("", "info", name)
	for _, line := range []string{"name:     " + name + "\n", "id:       " + fn.ID + "\n", "status:   active\n",
		"version:  2\n", "source:   " + fn.SourceHash + "\n",
		"VERSION  STATUS    CREATED               SOURCE        ERROR\n"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("info output lacks %q:\n%s", line, r.stdout)
		}
	}
}

func TestListEmpty(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	h := newUser(t, b).in(t)
	if r := h.run("", "ls"); r.code != 0 || r.stdout != "no functions yet: create one with dart_cloud init, then dart_cloud deploy\n" {
		t.Errorf("ls with no functions = %+v", r)
	}
	if r := h.run("", "list", "-o", "json"); r.code != 0 || r.stdout != "[]\n" {
		t.Errorf("list -o json with no functions = %+v, want []", r)
	}
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"info", "nope"}, "error: get function nope: "},
		{[]string{"versions", "nope"}, "error: list versions of nope: "},
		{[]string{"logs", "nope"}, "error: logs of nope: "},
		{[]string{"delete", "--yes", "nope"}, "error: delete nope: "},
		{[]string{"invoke", "nope"}, "error: invoke nope: "},
	}
	for _, tt := range tests {
		r := h.run("", tt.args...)
		want := tt.wantErr + "no function \"nope\" (404 Not Found)\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("%v of a missing function = %+v, want %q", tt.args, r, want)
		}
	}
}

func TestDeleteRefusesWithoutTerminal(t *testing.T) {
	h := offlineHarness(t)
	r := h.run("y\n", "delete", "one")
	want := "error: refusing to delete one without --yes: standard input is not a terminal\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("delete without a terminal = %+v, want %q", r, want)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	b := requireBackend(t)
	u := newUser(t, b)
	h := u.in(t)
	ctx := context.Background()
	c, err := u.client(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// The CLI creates functions only by deploying them; a function with
	// no version is enough here and costs no build.
	for _, name := range []string{"one-" + randHex(3), "two-" + randHex(3)} {
		if _, err := c.CreateFunction(ctx, client.CreateFunctionRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	fns, err := c.ListFunctions(ctx)
	if err != nil || len(fns) != 2 {
		t.Fatalf("ListFunctions() = %+v, %v", fns, err)
	}
	one, two := fns[0].Name, fns[1].Name

	if r := h.run("y\n", "delete", one); r.code != 1 || !strings.Contains(r.stderr, "without --yes") {
		t.Errorf("delete without a terminal = %+v, want a refusal", r)
	}
	h.terminal = true
	r := h.run("n\n", "delete", one)
	if r.code != 1 || r.stderr != "Delete function "+one+" and all its versions? [y/N] error: not deleted\n" {
		t.Errorf("delete answered no = %+v", r)
	}
	if _, err := c.GetFunction(ctx, one); err != nil {
		t.Errorf("%s after answering no: %v", one, err)
	}
	r = h.run("yes\n", "delete", one)
	if r.code != 0 || r.stdout != "deleted "+one+"\n" || r.stderr != "Delete function "+one+" and all its versions? [y/N] " {
		t.Errorf("delete answered yes = %+v", r)
	}
	h.terminal = false
	if r := h.run("", "delete", "--yes", two); r.code != 0 || r.stdout != "deleted "+two+"\n" {
		t.Errorf("delete --yes = %+v", r)
	}
	if r := h.run("", "list", "-o", "json"); r.stdout != "[]\n" {
		t.Errorf("list -o json after deleting both = %+v, want []", r)
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/build"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/runtime/podman"
)

// TestPlatform is the user's journey of the README through the CLI
// binary, on each database: register, deploy the examples, call them,
// read their records, keep a working version through a broken deploy,
// stay out of another user's functions, and delete without leftovers.
func TestPlatform(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			testPlatform(t, startBackend(t, db.url(t)))
		})
	}
}

func testPlatform(t *testing.T, b *backend) {
	alice := newUser(t, b)
	if out := alice.mustRun(t, "", "whoami"); !strings.Contains(out, alice.email) {
		t.Errorf("whoami = %q, want it to name %s", out, alice.email)
	}

	out := alice.deploy(t, "examples/hello")
	if !strings.Contains(out, "/f/hello/") {
		t.Errorf("deploy output %q does not give the function's URL", out)
	}
	resp, body := call(t, b, "GET", "hello", "/?name=Ada", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello, Ada!") {
		t.Fatalf("GET /f/hello/?name=Ada = %d %q, want 200 Hello, Ada!", resp.StatusCode, body)
	}
	reqID := resp.Header.Get(client.RequestIDHeader)
	if reqID == "" {
		t.Errorf("no %s header in the answer", client.RequestIDHeader)
	}

	t.Run("unchanged_deploy_is_skipped", func(t *testing.T) {
		out := alice.deploy(t, "examples/hello")
		if !strings.Contains(out+"", "no changes") {
			t.Errorf("second deploy said %q, want it to skip an unchanged tree", out)
		}
	})

	t.Run("jsonapi_routes_status_and_headers", func(t *testing.T) {
		alice.deploy(t, "examples/jsonapi")
		testJSONAPI(t, b, alice)
	})

	t.Run("env", func(t *testing.T) {
		alice.deploy(t, "examples/env")
		so := alice.mustRun(t, "", "invoke", "env")
		if !strings.Contains(so, "200") {
			t.Errorf("invoke env printed %q, want status 200", so)
		}
		var got map[string]string
		resp, body := callAs(t, b, alice.token(t), "GET", "env", "/", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /f/env/ = %d %s", resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("env answered %q: %v", body, err)
		}
		if got["GREETING"] == "" {
			t.Errorf("env answered %v, want GREETING from its manifest", got)
		}
	})

	t.Run("records_and_logs", func(t *testing.T) {
		testRecords(t, alice, reqID)
	})

	t.Run("failed_build_keeps_active_version", func(t *testing.T) {
		testFailedBuild(t, b, alice)
	})

	t.Run("other_users_functions_are_invisible", func(t *testing.T) {
		testIsolation(t, b, alice)
	})

	t.Run("delete_leaves_nothing", func(t *testing.T) {
		testDelete(t, b, alice)
	})
}

func callAs(t *testing.T, b *backend, token, method, name, path string, body []byte) (answer, []byte) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	var r *strings.Reader
	if body != nil {
		r = strings.NewReader(string(body))
		return call(t, b, method, name, path, r, h)
	}
	return call(t, b, method, name, path, nil, h)
}

func testJSONAPI(t *testing.T, b *backend, u *user) {
	tok := u.token(t)
	resp, body := callAs(t, b, tok, "POST", "jsonapi", "/items?source=e2e", []byte(`{"name":"widget"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /items = %d %s, want 201", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("POST /items Content-Type = %q, want application/json", ct)
	}
	resp, body = callAs(t, b, tok, "GET", "jsonapi", "/no-such-route", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no-such-route = %d %s, want the function's own 404", resp.StatusCode, body)
	}
	resp, body = callAs(t, b, tok, "DELETE", "jsonapi", "/items", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /items = %d %s, want the function's own 405", resp.StatusCode, body)
	}
}

func testRecords(t *testing.T, u *user, reqID string) {
	api := u.api(t)
	ctx := context.Background()
	var found *client.Execution
	// Records are written in batches off the call path: wait a moment.
	deadline := time.Now().Add(10 * time.Second)
	for found == nil && time.Now().Before(deadline) {
		es, err := api.ListExecutions(ctx, "hello", client.ExecutionQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for i := range es {
			if es[i].RequestID == reqID {
				found = &es[i]
			}
		}
		if found == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if found == nil {
		t.Fatalf("no execution with request id %s", reqID)
	}
	if found.Status != client.ExecutionSuccess || found.HTTPStatus != 200 || found.Version != 1 {
		t.Errorf("execution = %+v, want success, HTTP 200, version 1", *found)
	}
	if !strings.Contains(found.Logs, "Ada") {
		t.Errorf("execution logs = %q, want the line hello printed for the call", found.Logs)
	}
	out := u.mustRun(t, "", "logs", "hello")
	if !strings.Contains(out, "Ada") {
		t.Errorf("dart_cloud logs hello = %q, want the call's output", out)
	}
	out = u.mustRun(t, "", "list", "-o", "json")
	var fns []client.Function
	if err := json.Unmarshal([]byte(out), &fns); err != nil {
		t.Fatalf("list -o json printed %q: %v", out, err)
	}
	if len(fns) < 3 {
		t.Errorf("list shows %d functions, want hello, jsonapi and env", len(fns))
	}
}

// testFailedBuild deploys hello with a compile error: the CLI must show the
// compiler's message and fail, and version 1 must keep answering.
func testFailedBuild(t *testing.T, b *backend, u *user) {
	dir := copyTree(t, filepath.Join(repoRoot, "examples/hello"))
	src := filepath.Join(dir, "handler.go")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "func Handle(", "var _ = undefinedName\n\nfunc Handle(", 1)
	if err := os.WriteFile(src, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	so, se, code := u.run(t, "", "deploy", dir)
	if code == 0 {
		t.Fatalf("deploy of broken code succeeded:\n%s\n%s", so, se)
	}
	if !strings.Contains(so+se, "undefinedName") {
		t.Errorf("deploy output does not show the compiler error:\nstdout: %s\nstderr: %s", so, se)
	}
	resp, body := call(t, b, "GET", "hello", "/?name=still", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello, still!") {
		t.Errorf("after the failed deploy GET = %d %q, want version 1 answering", resp.StatusCode, body)
	}
	f, err := u.api(t).GetFunction(context.Background(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	if f.ActiveVersion != 1 || f.Status != client.FunctionActive {
		t.Errorf("function = version %d status %s, want version 1 active", f.ActiveVersion, f.Status)
	}
}

func testIsolation(t *testing.T, b *backend, alice *user) {
	bob := newUser(t, b)
	out := bob.mustRun(t, "", "list", "-o", "json")
	var fns []client.Function
	if err := json.Unmarshal([]byte(out), &fns); err != nil {
		t.Fatalf("list -o json printed %q: %v", out, err)
	}
	if len(fns) != 0 {
		t.Errorf("bob sees %d functions, want none", len(fns))
	}
	ctx := context.Background()
	api := bob.api(t)
	if _, err := api.GetFunction(ctx, "hello"); !client.IsNotFound(err) {
		t.Errorf("bob GET alice's hello: err = %v, want not found", err)
	}
	if err := api.DeleteFunction(ctx, "hello"); !client.IsNotFound(err) {
		t.Errorf("bob DELETE alice's hello: err = %v, want not found", err)
	}
	if _, _, code := bob.run(t, "", "invoke", "hello"); code == 0 {
		t.Errorf("bob could invoke alice's hello through the API")
	}
	// jsonapi is private: only its owner's token calls it.
	if resp, _ := callAs(t, b, bob.token(t), "GET", "jsonapi", "/items", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bob calling private jsonapi = %d, want 401", resp.StatusCode)
	}
	if resp, _ := callAs(t, b, "", "GET", "jsonapi", "/items", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous call of private jsonapi = %d, want 401", resp.StatusCode)
	}
	if resp, _ := callAs(t, b, alice.token(t), "GET", "jsonapi", "/items", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("alice calling her private jsonapi = %d, want 200", resp.StatusCode)
	}
	// hello is public.
	if resp, _ := callAs(t, b, "", "GET", "hello", "/", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("anonymous call of public hello = %d, want 200", resp.StatusCode)
	}
	// A taken name is refused to another user.
	if _, err := api.CreateFunction(ctx, client.CreateFunctionRequest{Name: "hello"}); !isStatus(err, http.StatusConflict) {
		t.Errorf("bob creating a second hello: err = %v, want 409", err)
	}
}

func isStatus(err error, status int) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.StatusCode == status
}

func testDelete(t *testing.T, b *backend, u *user) {
	ctx := context.Background()
	f, err := u.api(t).GetFunction(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	deps, err := u.api(t).ListDeployments(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	u.mustRun(t, "", "delete", "hello", "--yes")

	if _, err := u.api(t).GetFunction(ctx, "hello"); !client.IsNotFound(err) {
		t.Errorf("GET after delete: err = %v, want not found", err)
	}
	if resp, _ := call(t, b, "GET", "hello", "/", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("call after delete = %d, want 404", resp.StatusCode)
	}
	d, err := podman.New(podmanSocket, podman.Options{InstancesDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctrs, err := d.List(ctx, map[string]string{runtime.LabelFunction: f.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ctrs) != 0 {
		t.Errorf("%d containers of the deleted function remain: %+v", len(ctrs), ctrs)
	}
	for _, dep := range deps {
		ref := build.ImageRef(f.ID, dep.Version)
		if ok, err := d.ImageExists(ctx, ref); err != nil || ok {
			t.Errorf("image %s of the deleted function: exists %v, err %v", ref, ok, err)
		}
	}
	if _, err := os.Stat(filepath.Join(b.DataDir, "storage", "archives", f.ID)); !os.IsNotExist(err) {
		t.Errorf("archives of the deleted function remain: stat err = %v", err)
	}
}

// copyTree copies a directory into a new temporary one.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestSameOwnerBuildsStayApart deploys two scaffolded functions whose
// generated files have the same names and sizes, for one owner, whose
// builds share a Go build cache: each must answer with its own code.
func TestSameOwnerBuildsStayApart(t *testing.T) {
	b := startBackend(t, "sqlite://"+filepath.Join(t.TempDir(), "e2e.db"))
	u := newUser(t, b)
	for _, name := range []string{"aaaa", "bbbb"} {
		dir := filepath.Join(t.TempDir(), name)
		u.mustRun(t, "", "init", dir)
		u.deploy(t, dir)
	}
	for _, name := range []string{"aaaa", "bbbb"} {
		resp, err := u.api(t).Invoke(context.Background(), name, nil, nil)
		if err != nil {
			t.Fatalf("invoke %s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("invoke %s = %d, want 200", name, resp.StatusCode)
		}
	}
}

// TestDataDirInUse starts a second backend on a running one's data
// directory: it must refuse to start and say why.
func TestDataDirInUse(t *testing.T) {
	b := startBackend(t, "sqlite://"+filepath.Join(t.TempDir(), "e2e.db"))
	cmd := exec.Command(filepath.Join(binDir, "dart_cloud_backend"))
	cmd.Env = append(os.Environ(),
		"CONTAINERPUB_ADDR=127.0.0.1:"+freePort(t),
		"CONTAINERPUB_DATA_DIR="+b.DataDir,
		"CONTAINERPUB_DATABASE_URL="+b.dbURL,
		"CONTAINERPUB_PODMAN_SOCKET="+podmanSocket,
	)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("a second backend on %s started:\n%s", b.DataDir, out)
	}
	if !strings.Contains(string(out), "in use by another backend") {
		t.Errorf("second backend said %q, want it to name the data dir in use", out)
	}
}

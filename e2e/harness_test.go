// Package e2e tests ContainerPub end to end: the real backend binary with
// SQLite and with PostgreSQL, real Podman, and the real CLI binary, driven
// as a user would drive them.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/build"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/runtime/podman"
	"github.com/containerpub/containerpub/internal/testutil"
)

var (
	// binDir holds the binaries built for the tests.
	binDir string
	// podmanSocket is a Podman service shared by every backend of the run,
	// or "" when Podman is missing (setupErr says why).
	podmanSocket string
	setupErr     error
	repoRoot     string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "containerpub-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	repoRoot, _ = filepath.Abs("..")
	binDir = filepath.Join(dir, "bin")
	args := []string{"build", "-o", binDir + "/"}
	env := append(os.Environ(), "CGO_ENABLED=0")
	if raceEnabled {
		args = append(args, "-race")
		env = append(os.Environ(), "CGO_ENABLED=1")
	}
	build := exec.Command("go", append(args, "./cmd/dart_cloud_backend", "./cmd/dart_cloud")...)
	build.Dir = repoRoot
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build binaries: %v\n%s", err, out)
		return 1
	}
	if _, err := exec.LookPath("podman"); err != nil {
		setupErr = fmt.Errorf("podman not installed: %w", err)
	} else {
		ctx := context.Background()
		svc, err := podman.StartService(ctx, filepath.Join(dir, "podman"), slog.New(slog.DiscardHandler))
		if err != nil {
			setupErr = err
		} else {
			defer svc.Stop()
			podmanSocket = svc.SocketPath()
		}
	}
	return m.Run()
}

// requirePodman skips, or fails in CI, when Podman is missing.
func requirePodman(t *testing.T) {
	t.Helper()
	if setupErr == nil {
		return
	}
	if os.Getenv("CONTAINERPUB_REQUIRE_SERVICES") == "1" {
		t.Fatalf("Podman is required: %v", setupErr)
	}
	t.Skipf("SKIPPING: Podman is not available (%v); run scripts/setup.sh", setupErr)
}

// database is one metadata store the tests run against.
type database struct {
	name string
	// url makes a fresh database for one backend.
	url func(t *testing.T) string
}

// databases returns SQLite always and PostgreSQL when
// CONTAINERPUB_TEST_POSTGRES_URL names a server.
func databases(t *testing.T) []database {
	dbs := []database{{name: "sqlite", url: func(t *testing.T) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "e2e.db")
	}}}
	admin := os.Getenv("CONTAINERPUB_TEST_POSTGRES_URL")
	if admin == "" {
		if os.Getenv("CONTAINERPUB_REQUIRE_SERVICES") == "1" {
			t.Fatal("CONTAINERPUB_TEST_POSTGRES_URL is required")
		}
		t.Log("NOT TESTING POSTGRESQL: CONTAINERPUB_TEST_POSTGRES_URL is not set (scripts/postgres.sh prints one)")
		return dbs
	}
	return append(dbs, database{name: "postgres", url: func(t *testing.T) string {
		return freshPostgres(t, admin)
	}})
}

// freshPostgres creates a database for one test and drops it afterwards.
func freshPostgres(t *testing.T, admin string) string {
	t.Helper()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	name := "e2e_" + randHex(6)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// backend is a running dart_cloud_backend process.
type backend struct {
	URL     string
	DataDir string
	dbURL   string
	env     []string
	cmd     *exec.Cmd
	log     *testutil.SyncBuffer
	done    chan error
}

// startBackend starts a backend on a fresh data directory.
func startBackend(t *testing.T, dbURL string, env ...string) *backend {
	t.Helper()
	requirePodman(t)
	b := &backend{DataDir: shortTempDir(t), dbURL: dbURL, env: env}
	b.start(t)
	t.Cleanup(func() {
		b.stop(t)
		b.removeInstances(t)
	})
	return b
}

// removeInstances removes the containers a stopped backend left running
// for its next start to adopt: no test leaves containers behind.
func (b *backend) removeInstances(t *testing.T) {
	t.Helper()
	id, err := os.ReadFile(filepath.Join(b.DataDir, "backend-id"))
	if err != nil {
		t.Errorf("read backend id: %v", err)
		return
	}
	d, err := podman.New(podmanSocket, podman.Options{InstancesDir: filepath.Join(b.DataDir, "instances")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ctrs, err := d.List(ctx, map[string]string{runtime.LabelBackend: strings.TrimSpace(string(id))})
	if err != nil {
		t.Errorf("list containers left by the backend: %v", err)
		return
	}
	for _, c := range ctrs {
		if err := d.Remove(ctx, c.ID); err != nil {
			t.Errorf("remove container %s: %v", c.Name, err)
		}
	}
}

// shortTempDir returns a temporary directory with a short path: instance
// sockets live below it, and a unix socket path may not exceed 107 bytes.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cpe2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (b *backend) start(t *testing.T) {
	t.Helper()
	port := freePort(t)
	b.URL = "http://127.0.0.1:" + port
	b.log = &testutil.SyncBuffer{}
	b.cmd = exec.Command(filepath.Join(binDir, "dart_cloud_backend"))
	b.cmd.Env = append(os.Environ(),
		"CONTAINERPUB_ADDR=127.0.0.1:"+port,
		"CONTAINERPUB_DATA_DIR="+b.DataDir,
		"CONTAINERPUB_DATABASE_URL="+b.dbURL,
		"CONTAINERPUB_PODMAN_SOCKET="+podmanSocket,
		"CONTAINERPUB_LOG_LEVEL=debug",
	)
	b.cmd.Env = append(b.cmd.Env, b.env...)
	b.cmd.Stdout = b.log
	b.cmd.Stderr = b.log
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start backend: %v", err)
	}
	b.done = make(chan error, 1)
	go func() { b.done <- b.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(b.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-b.done:
			t.Fatalf("backend exited: %v\n%s", err, b.log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("backend not ready after 60s\n%s", b.log.String())
}

// stop stops the backend gracefully and fails the test if it does not
// exit cleanly.
func (b *backend) stop(t *testing.T) {
	t.Helper()
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.done:
		if err != nil {
			t.Errorf("backend exit: %v", err)
		}
	case <-time.After(90 * time.Second):
		_ = b.cmd.Process.Kill()
		t.Errorf("backend did not stop within 90s")
	}
	b.cmd = nil
	if strings.Contains(b.log.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector found a data race in the backend")
	}
	if t.Failed() {
		t.Logf("backend log:\n%s", b.log.String())
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// user is a person using the CLI against a backend, with their own
// config directory.
type user struct {
	b       *backend
	home    string
	email   string
	context context.Context
}

func newUser(t *testing.T, b *backend) *user {
	t.Helper()
	u := &user{b: b, home: t.TempDir(), email: "u" + randHex(4) + "@example.com", context: context.Background()}
	out := u.mustRun(t, "testpassword\n", "register", "--email", u.email)
	if !strings.Contains(out, "registered") {
		t.Fatalf("register said %q", out)
	}
	me, err := u.api(t).Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A user's functions go with the test: their images and archives too.
	t.Cleanup(func() { u.deleteAll(t) })
	// Each user gets build caches of about 100 MB; a test run makes many.
	t.Cleanup(func() {
		goCache, modCache := build.CacheIDs(me.ID)
		for _, id := range []string{goCache, modCache} {
			os.RemoveAll(filepath.Join(buildahCacheDir, id))
		}
	})
	return u
}

// buildahCacheDir is where Podman, run as root, keeps build cache mounts.
const buildahCacheDir = "/var/tmp/buildah-cache"

// deleteAll deletes the user's functions, logging in again in case the
// session ended.
func (u *user) deleteAll(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	sess, err := client.New(u.b.URL, "").Login(ctx, client.Credentials{Email: u.email, Password: "testpassword"})
	if err != nil {
		t.Errorf("log in to clean up: %v", err)
		return
	}
	api := client.New(u.b.URL, sess.Token)
	fns, err := api.ListFunctions(ctx)
	if err != nil {
		t.Errorf("list functions to clean up: %v", err)
		return
	}
	for _, f := range fns {
		if err := api.DeleteFunction(ctx, f.ID); err != nil {
			t.Errorf("delete %s: %v", f.Name, err)
		}
	}
}

// run runs the CLI as this user with stdin and returns its output and
// exit code.
func (u *user) run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "dart_cloud"), args...)
	cmd.Env = []string{
		"HOME=" + u.home,
		"XDG_CONFIG_HOME=" + filepath.Join(u.home, ".config"),
		"DART_CLOUD_URL=" + u.b.URL,
		"PATH=" + os.Getenv("PATH"),
	}
	cmd.Dir = repoRoot
	cmd.Stdin = strings.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout = &so
	cmd.Stderr = &se
	err := cmd.Run()
	code = 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run dart_cloud %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return so.String(), se.String(), code
}

// mustRun runs the CLI and fails the test unless it succeeds.
func (u *user) mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	so, se, code := u.run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("dart_cloud %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, so, se)
	}
	return so
}

// token returns the user's session token from the CLI's config file.
func (u *user) token(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(u.home, ".config", "dart_cloud", "config.json"))
	if err != nil {
		t.Fatalf("read CLI config: %v", err)
	}
	var cfg struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Token
}

// api returns a Go client with the user's token.
func (u *user) api(t *testing.T) *client.Client {
	return client.New(u.b.URL, u.token(t))
}

// deploy deploys a directory with the CLI and fails unless it went active.
func (u *user) deploy(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	return u.mustRun(t, "", append([]string{"deploy", dir}, extra...)...)
}

// call sends a request to /f/{name}{path} without a token.
func call(t *testing.T, b *backend, method, name, path string, body io.Reader, header http.Header) (answer, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.URL+"/f/"+name+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer of %s %s: %v", method, req.URL, err)
	}
	return answer{StatusCode: resp.StatusCode, Header: resp.Header}, data
}

// answer is the status and header of a response whose body call has
// read and closed already.
type answer struct {
	StatusCode int
	Header     http.Header
}

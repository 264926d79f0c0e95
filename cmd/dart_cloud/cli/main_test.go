package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/build"
	"github.com/containerpub/containerpub/internal/config"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/runtime/podman"
	"github.com/containerpub/containerpub/internal/server"
	"github.com/containerpub/containerpub/internal/testutil"
)

// The tests that talk to a backend share one real backend, started in
// this process on first use: Podman, SQLite, builds and all. Tests of the
// CLI's own logic never start it, so they run without Podman.
var (
	backendOnce sync.Once
	backend     *liveBackend
	// backendSkip says why the backend is missing when a service it needs
	// is; backendErr is any other failure to start it.
	backendSkip, backendErr error

	builderOnce sync.Once
	builder     *user
	builderErr  error
)

// testPassword is every test user's password.
const testPassword = "secret-pass"

// buildahCacheDir is where Podman, run as root, keeps the build cache
// mounts of each user's Go builds.
const buildahCacheDir = "/var/tmp/buildah-cache"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests runs the tests, then removes the shared user's functions and
// stops the shared backend, failing the run if either leaves a mess.
func runTests(m *testing.M) int {
	code := m.Run()
	if builder != nil {
		if err := builder.remove(backend); err != nil {
			fmt.Fprintf(os.Stderr, "clean up the shared test user: %v\n", err)
			code = 1
		}
		os.RemoveAll(builder.home)
	}
	if backend != nil {
		if err := backend.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the test backend: %v\n", err)
			code = 1
		}
		if code != 0 {
			fmt.Fprintf(os.Stderr, "last lines of the backend's log:\n%s\n", lastLines(backend.log.String(), 150))
		}
		os.RemoveAll(backend.dir)
	}
	return code
}

// liveBackend is a real backend running in this process.
type liveBackend struct {
	URL string
	// dir is the data directory; the Podman service's socket is under it.
	dir    string
	svc    *podman.Service
	log    *testutil.SyncBuffer
	cancel context.CancelFunc
	done   chan error
}

// requireBackend returns the shared backend, starting it on first use.
// Without Podman it skips the test, or fails it in CI.
func requireBackend(t *testing.T) *liveBackend {
	t.Helper()
	backendOnce.Do(func() { backend, backendSkip, backendErr = startBackend() })
	switch {
	case backendErr != nil:
		t.Fatalf("start the test backend: %v", backendErr)
	case backendSkip != nil && requireServices():
		t.Fatalf("the real backend needs Podman, which CONTAINERPUB_REQUIRE_SERVICES=1 requires: %v", backendSkip)
	case backendSkip != nil:
		t.Skipf("SKIPPING: no real backend to test against: %v; run scripts/setup.sh", backendSkip)
	}
	return backend
}

// startBackend starts a Podman service and a backend on SQLite in a new
// data directory. skip is set when Podman is missing or does not start.
func startBackend() (b *liveBackend, skip, err error) {
	if _, err := exec.LookPath("podman"); err != nil {
		return nil, fmt.Errorf("podman not installed: %w", err), nil
	}
	// Instance sockets live below the data directory, and a unix socket
	// path may not exceed 107 bytes: the directory's path must be short.
	dir, err := os.MkdirTemp("", "cpcli-")
	if err != nil {
		return nil, nil, err
	}
	b = &liveBackend{dir: dir, log: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(b.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	b.svc, err = podman.StartService(ctx, dir, logger)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start a Podman service: %w", err), nil
	}
	cfg, err := backendConfig(dir, b.svc.SocketPath())
	if err == nil {
		err = b.run(ctx, cfg, logger)
	}
	if err != nil {
		b.svc.Stop()
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("%w\n%s", err, lastLines(b.log.String(), 50))
	}
	return b, nil, nil
}

// backendConfig makes the backend's configuration the way its command
// does, from settings given as its environment. Settings of the
// environment the tests run in are ignored, so that they cannot change
// what is tested.
func backendConfig(dir, socket string) (config.Config, error) {
	env := map[string]string{
		config.EnvAddr:          "127.0.0.1:0",
		config.EnvDataDir:       dir,
		config.EnvDatabaseURL:   "sqlite://" + filepath.Join(dir, "t.db"),
		config.EnvPodmanSocket:  socket,
		config.EnvShutdownGrace: "10s",
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok || strings.HasPrefix(k, "CONTAINERPUB_") {
			return v
		}
		return os.Getenv(k)
	}
	return config.Parse(nil, getenv, io.Discard)
}

// run starts server.Run and waits until it listens.
func (b *liveBackend) run(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	ctx, b.cancel = context.WithCancel(ctx)
	ready := make(chan string, 1)
	go func() { b.done <- server.Run(ctx, cfg, logger, ready) }()
	select {
	case addr := <-ready:
		b.URL = "http://" + addr
		return nil
	case err := <-b.done:
		b.cancel()
		return fmt.Errorf("backend exited at start: %w", err)
	case <-time.After(2 * time.Minute):
		b.cancel()
		return errors.New("backend not listening after 2 minutes")
	}
}

// stop stops the backend and its Podman service, and removes containers
// of the backend that are still there: deleting the tests' functions
// should have removed them all, so any left is an error.
func (b *liveBackend) stop() error {
	b.cancel()
	var errs []error
	select {
	case err := <-b.done:
		if err != nil {
			errs = append(errs, fmt.Errorf("backend: %w", err))
		}
	case <-time.After(2 * time.Minute):
		errs = append(errs, errors.New("backend did not stop within 2 minutes"))
	}
	if err := b.removeContainers(); err != nil {
		errs = append(errs, err)
	}
	if err := b.svc.Stop(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeContainers removes the containers labelled with this backend's
// id, failing when there were any.
func (b *liveBackend) removeContainers() error {
	id, err := os.ReadFile(filepath.Join(b.dir, "backend-id"))
	if err != nil {
		return err
	}
	podmanCmd := func(args ...string) ([]byte, error) {
		args = append([]string{"--url", "unix://" + b.svc.SocketPath()}, args...)
		return exec.Command("podman", args...).CombinedOutput()
	}
	label := runtime.LabelBackend + "=" + strings.TrimSpace(string(id))
	out, err := podmanCmd("ps", "-a", "-q", "--filter", "label="+label)
	if err != nil {
		return fmt.Errorf("list the backend's containers: %w: %s", err, out)
	}
	left := strings.Fields(string(out))
	if len(left) == 0 {
		return nil
	}
	if out, err := podmanCmd(append([]string{"rm", "-f"}, left...)...); err != nil {
		return fmt.Errorf("remove left containers: %w: %s", err, out)
	}
	return fmt.Errorf("%d containers were left after every function was deleted: %v", len(left), left)
}

// user is an account on the backend with its own CLI config file.
type user struct {
	email string
	// id is the account's id, which names its build caches.
	id   string
	home string
	env  map[string]string
}

// newUser registers a new account through the CLI for one test and
// deletes its functions and build caches when the test ends.
func newUser(t *testing.T, b *liveBackend) *user {
	t.Helper()
	u, err := register(b, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := u.remove(b); err != nil {
			t.Errorf("clean up user %s: %v", u.email, err)
		}
	})
	return u
}

// builderUser returns the user that all tests deploying functions share:
// a user's first build copies a large seed cache, so there is one such
// user per run. runTests cleans it up.
func builderUser(t *testing.T) *user {
	t.Helper()
	b := requireBackend(t)
	builderOnce.Do(func() {
		var home string
		if home, builderErr = os.MkdirTemp("", "cpcli-user-"); builderErr == nil {
			builder, builderErr = register(b, home)
		}
	})
	if builderErr != nil {
		t.Fatalf("register the shared user: %v", builderErr)
	}
	return builder
}

// register creates an account with a unique email by running
// dart_cloud register, keeping the CLI's config file in home.
func register(b *liveBackend, home string) (*user, error) {
	u := &user{email: "u" + randHex(6) + "@example.com", home: home}
	u.env = map[string]string{EnvURL: b.URL, EnvConfig: filepath.Join(home, "config.json")}
	var out, errOut bytes.Buffer
	a := newApp(u.getenv, strings.NewReader(testPassword+"\n"), &out, &errOut)
	if code := a.run(context.Background(), []string{"register", "--email", u.email}); code != 0 {
		return nil, fmt.Errorf("dart_cloud register: exit %d: %s%s", code, out.String(), errOut.String())
	}
	c, err := u.client(context.Background(), b)
	if err != nil {
		return nil, err
	}
	me, err := c.Me(context.Background())
	if err != nil {
		return nil, fmt.Errorf("look up the new user: %w", err)
	}
	u.id = me.ID
	return u, nil
}

func (u *user) getenv(k string) string { return u.env[k] }

// client returns a Go client logged in as the user with a session of its
// own, so that it works whatever the CLI did with the saved one.
func (u *user) client(ctx context.Context, b *liveBackend) (*client.Client, error) {
	sess, err := client.New(b.URL, "").Login(ctx, client.Credentials{Email: u.email, Password: testPassword})
	if err != nil {
		return nil, fmt.Errorf("log in as %s: %w", u.email, err)
	}
	return client.New(b.URL, sess.Token), nil
}

// in returns a harness running the CLI as the user in test t.
func (u *user) in(t *testing.T) *harness {
	h := &harness{t: t, env: map[string]string{}, config: u.env[EnvConfig]}
	for k, v := range u.env {
		h.env[k] = v
	}
	return h
}

// remove deletes the user's functions, with their containers and
// images, and the user's build caches.
func (u *user) remove(b *liveBackend) error {
	ctx := context.Background()
	c, err := u.client(ctx, b)
	if err != nil {
		return err
	}
	fns, err := c.ListFunctions(ctx)
	if err != nil {
		return fmt.Errorf("list functions: %w", err)
	}
	var errs []error
	for _, f := range fns {
		if err := c.DeleteFunction(ctx, f.Name); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", f.Name, err))
		}
	}
	goCache, modCache := build.CacheIDs(u.id)
	for _, id := range []string{goCache, modCache} {
		if err := os.RemoveAll(filepath.Join(buildahCacheDir, id)); err != nil {
			errs = append(errs, err)
		}
	}
	_ = c.Logout(ctx)
	return errors.Join(errs...)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lastLines returns at most the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

package build

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/runtime/podman"
	"github.com/containerpub/containerpub/internal/storage"
	"github.com/containerpub/containerpub/internal/testutil"
)

// podmanSocketEnv names an already running libpod API socket for the
// integration test; without it the test starts a service of its own.
const podmanSocketEnv = "CONTAINERPUB_PODMAN_SOCKET"

// podmanDriver returns a driver on a real Podman service, or skips.
func podmanDriver(t *testing.T) *podman.Driver {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		skipOrFail(t, "podman is not installed (scripts/setup.sh installs it)")
	}
	// Socket paths are short: /tmp, not t.TempDir's long names.
	base, err := os.MkdirTemp("/tmp", "cpb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	socket := os.Getenv(podmanSocketEnv)
	if socket == "" {
		svc, err := podman.StartService(ctx, base, slog.New(slog.DiscardHandler))
		if err != nil {
			skipOrFail(t, "cannot start a podman service: %v", err)
		}
		t.Cleanup(func() {
			if err := svc.Stop(); err != nil {
				t.Errorf("stop podman service: %v", err)
			}
		})
		socket = svc.SocketPath()
	}
	d, err := podman.New(socket, podman.Options{InstancesDir: filepath.Join(base, "i"), OCIRuntime: "runc"})
	if err != nil {
		t.Fatalf("podman.New: %v", err)
	}
	if err := d.Ping(ctx); err != nil {
		skipOrFail(t, "podman at %s does not answer: %v", socket, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func randomHex(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestBuildWithPodman builds examples/hello with real Podman, runs the
// image and calls it, rebuilds after a source change, and checks that a
// compile error fails the build with the compiler's words in the log.
func TestBuildWithPodman(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images: not in -short mode")
	}
	d := podmanDriver(t)
	st, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	b := NewBuilder(d, st, DefaultPolicy(), logger)
	ctx := t.Context()

	start := time.Now()
	var blog bytes.Buffer
	builder, err := b.EnsureBuilderImage(ctx, &blog)
	if err != nil {
		t.Fatalf("EnsureBuilderImage() = %v; log:\n%s", err, blog.String())
	}
	t.Logf("EnsureBuilderImage: %s in %s", builder, time.Since(start).Round(time.Millisecond))

	// A fresh owner has an empty build cache: the first build shows the
	// seeded cache at work.
	run := randomHex(t)
	fnID := "it" + run
	t.Cleanup(func() { removeBuildCaches(t, "owner"+run) })
	src := filepath.Join(examplesDir(t), "hello")
	build := func(version int, archive []byte) (string, string, time.Duration, error) {
		key := "archives/" + fnID + "/" + strings.Repeat("v", version)
		if err := st.Put(ctx, key, bytes.NewReader(archive)); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		start := time.Now()
		ref, err := b.Build(ctx, Job{
			FunctionID: fnID, DeploymentID: "dep" + run, OwnerID: "owner" + run,
			Version: version, ArchiveKey: key,
		}, &log)
		if err == nil {
			t.Cleanup(func() { removeImage(t, d, ref) })
		}
		return ref, log.String(), time.Since(start), err
	}

	ref, log, first, err := build(1, packDir(t, src))
	if err != nil {
		t.Fatalf("Build(v1) = %v; log:\n%s", err, log)
	}
	if want := ImageRef(fnID, 1); ref != want {
		t.Errorf("Build(v1) = %q, want %q", ref, want)
	}
	t.Logf("first build (empty owner cache, seeded): %s", first.Round(time.Millisecond))
	callImage(t, d, ref, "/?name=Ada", "Hello, Ada!\n")

	changed := changedHello(t, src, "Howdy")
	ref2, log, rebuild, err := build(2, changed)
	if err != nil {
		t.Fatalf("Build(v2) = %v; log:\n%s", err, log)
	}
	t.Logf("rebuild after a source change (warm owner cache): %s", rebuild.Round(time.Millisecond))
	callImage(t, d, ref2, "/?name=Ada", "Howdy, Ada!\n")

	broken := packWith(t, src, "handler.go", "package function\n\nimport \"net/http\"\n\n"+
		"func Handle(w http.ResponseWriter, r *http.Request) {\n\tundefinedThing(w)\n}\n")
	_, log, _, err = build(3, broken)
	if !errors.Is(err, ErrBuildFailed) {
		t.Fatalf("Build(broken) = %v, want ErrBuildFailed; log:\n%s", err, log)
	}
	if !strings.Contains(err.Error(), "handler.go:6:2: undefined: undefinedThing") {
		t.Errorf("Build(broken) error %q does not quote the compiler", err)
	}
	if !strings.Contains(log, "handler.go:6:2: undefined: undefinedThing") {
		t.Errorf("Build(broken) log lacks the compiler's output:\n%s", log)
	}
	if ok, _ := d.ImageExists(ctx, ImageRef(fnID, 3)); ok {
		t.Errorf("a failed build left image %s", ImageRef(fnID, 3))
		removeImage(t, d, ImageRef(fnID, 3))
	}
}

// buildahCacheDir is where Buildah, inside Podman 4.3 running as root,
// keeps the contents of RUN --mount=type=cache mounts by id.
const buildahCacheDir = "/var/tmp/buildah-cache"

// removeBuildCaches removes the build caches of a test's owner, about
// 100 MB each, which Podman's API offers no way to remove. A test run
// makes a fresh owner to measure a first build.
func removeBuildCaches(t *testing.T, owner string) {
	for _, kind := range []string{"gocache", "gomod"} {
		p := filepath.Join(buildahCacheDir, "containerpub-"+kind+"-"+ownerCacheKey(owner))
		if err := os.RemoveAll(p); err != nil {
			t.Logf("remove build cache %s: %v", p, err)
		}
	}
}

// changedHello archives examples/hello with its greeting replaced.
func changedHello(t *testing.T, src, greeting string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(src, "handler.go"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), `"Hello, %s!\n"`, `"`+greeting+`, %s!\n"`, 1)
	if s == string(data) {
		t.Fatal("examples/hello/handler.go no longer has the greeting this test replaces")
	}
	return packWith(t, src, "handler.go", s)
}

// packWith archives the directory at src with one file's content replaced.
func packWith(t *testing.T, src, name, content string) []byte {
	t.Helper()
	tmp := t.TempDir()
	if err := os.CopyFS(tmp, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return packDir(t, tmp)
}

func removeImage(t *testing.T, d runtime.Driver, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.RemoveImage(ctx, ref); err != nil {
		t.Errorf("RemoveImage(%s) = %v", ref, err)
	}
}

// callImage runs an instance of the image, calls it once over its unix
// socket, and checks the answer and the end-of-call markers on stdout
// and stderr.
func callImage(t *testing.T, d runtime.Driver, ref, target, want string) {
	t.Helper()
	ctx := t.Context()
	c, err := d.Create(ctx, runtime.ContainerSpec{
		Name:   "cpb-it-" + randomHex(t),
		Image:  ref,
		Env:    map[string]string{runtime.MarkersEnv: "1"},
		Limits: runtime.Limits{MemoryBytes: 64 << 20, Pids: 64, OpenFiles: 1024, Procs: 1024},
	})
	if err != nil {
		t.Fatalf("Create(%s) = %v", ref, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Remove(ctx, c.ID); err != nil {
			t.Errorf("Remove(%s) = %v", c.ID, err)
		}
	}()
	var stdout, stderr testutil.SyncBuffer
	// The attachment lasts for the call; its deadline stops a hung one.
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	attached, err := d.Attach(actx, c.ID, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Attach = %v", err)
	}
	if err := d.Start(ctx, c.ID); err != nil {
		t.Fatalf("Start = %v", err)
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialRetry(ctx, c.Endpoint)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://fn"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(client.RequestIDHeader, "req-"+randomHex(t))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("call %s: %v", ref, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != want {
		t.Errorf("GET %s on %s = %d %q, want 200 %q", target, ref, resp.StatusCode, body, want)
	}
	marker := runtime.CallEndMarker + req.Header.Get(client.RequestIDHeader) + "\n"
	waitFor(t, func() bool {
		return strings.Contains(stdout.String(), marker) && strings.Contains(stderr.String(), marker)
	}, "end-of-call marker on stdout and stderr; stdout %q, stderr %q", &stdout, &stderr)
	if !strings.Contains(stderr.String(), "greeting \"Ada\"") {
		t.Errorf("stderr %q lacks the function's log line", stderr.String())
	}
	if err := d.Stop(ctx, c.ID, 10*time.Second); err != nil {
		t.Errorf("Stop = %v", err)
	}
	_, exit, err := d.Inspect(ctx, c.ID)
	if err != nil || exit.ExitCode != 0 {
		t.Errorf("after SIGTERM: exit %+v, %v; want a graceful exit 0", exit, err)
	}
	<-attached
}

// dialRetry dials the endpoint until the instance listens.
func dialRetry(ctx context.Context, ep runtime.Endpoint) (net.Conn, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		var dl net.Dialer
		conn, err := dl.DialContext(ctx, ep.Network, ep.Address)
		if err == nil || time.Now().After(deadline) {
			return conn, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for "+format, args...)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testWriter sends log output to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

package podman

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/runtime/runtimetest"
)

// Environment variables the tests read.
const (
	// envSocket points the tests at a running Podman service instead of
	// one they start.
	envSocket = "CONTAINERPUB_PODMAN_SOCKET"
	// envRequire turns a missing Podman from a skip into a failure (CI).
	envRequire = "CONTAINERPUB_REQUIRE_SERVICES"
)

// shared is the Podman service and test image of the whole test binary:
// starting a service and building the image take seconds.
var shared struct {
	once    sync.Once
	dataDir string
	svc     *Service
	socket  string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.svc != nil {
		if err := shared.svc.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop podman service: %v\n", err)
		}
	}
	if shared.dataDir != "" {
		_ = os.RemoveAll(shared.dataDir)
	}
	os.Exit(code)
}

// needPodman skips the test, loudly, when Podman is not usable, or fails
// it when services are required.
func needPodman(t testing.TB) string {
	t.Helper()
	shared.once.Do(startShared)
	if shared.err != nil {
		msg := "PODMAN UNAVAILABLE, runtime tests not run: " + shared.err.Error()
		if os.Getenv(envRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return shared.socket
}

func startShared() {
	if s := os.Getenv(envSocket); s != "" {
		shared.socket = s
		return
	}
	if _, err := exec.LookPath("podman"); err != nil {
		shared.err = err
		return
	}
	// A short directory: socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "cpub-podman-")
	if err != nil {
		shared.err = err
		return
	}
	shared.dataDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shared.svc, shared.err = StartService(ctx, dir, testLogger())
	if shared.err == nil {
		shared.socket = shared.svc.SocketPath()
	}
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestDriver returns a Driver on the shared service with instances in
// a fresh short directory.
func newTestDriver(t testing.TB) *Driver {
	t.Helper()
	socket := needPodman(t)
	dir, err := os.MkdirTemp("", "cpub-inst-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	d, err := New(socket, Options{InstancesDir: dir, Logger: testLogger(), OCIRuntime: "runc"})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Ping(t.Context()); err != nil {
		t.Fatalf("Ping = %v", err)
	}
	return d
}

func TestConformance(t *testing.T) {
	d := newTestDriver(t)
	image := runtimetest.BuildImage(t, d)
	runtimetest.Run(t, d, image)
}

// TestConfinement checks what the generic suite cannot: the container's
// user maps to a host id in the subordinate range, and the image's labels
// reach the container.
func TestConfinement(t *testing.T) {
	d := newTestDriver(t)
	h := runtimetest.NewHarness(t, d, runtimetest.BuildImage(t, d))
	c := h.Launch(t, h.Spec(nil))
	p := runtimetest.ReadProbe(t, c)

	host, err := hostID(p.UIDMap, p.UID)
	if err != nil {
		t.Fatalf("map uid %d through %q: %v", p.UID, p.UIDMap, err)
	}
	// /etc/subuid gives the containers user ids from 1000000 up.
	if host < 1000000 {
		t.Errorf("container uid %d is host uid %d, want >= 1000000 (uid_map %q)", p.UID, host, p.UIDMap)
	}
	got, _, err := d.Inspect(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("Inspect(%s) = %v", c.ID, err)
	}
	if got.Labels[runtimetest.ImageLabel] != "fnapp" {
		t.Errorf("label %s = %q, want the build's label fnapp", runtimetest.ImageLabel, got.Labels[runtimetest.ImageLabel])
	}
	st, err := os.Stat(filepath.Dir(c.Endpoint.Address))
	if err != nil || st.Mode().Perm() != 0o777 {
		t.Errorf("instance dir: %v, %v; want mode 0777", st, err)
	}
	if st, err := os.Stat(d.dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("instances dir: %v, %v; want mode 0700", st, err)
	}
}

// hostID maps a container id to the host through a uid_map.
func hostID(uidMap string, id int) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(uidMap), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return 0, errors.New("malformed uid_map line")
		}
		var n [3]int
		for i := range f {
			v, err := strconv.Atoi(f[i])
			if err != nil {
				return 0, err
			}
			n[i] = v
		}
		if id >= n[0] && id < n[0]+n[2] {
			return n[1] + id - n[0], nil
		}
	}
	return 0, errors.New("id not mapped")
}

// TestListAfterRestart: a new Driver, as after a backend restart, finds
// the containers of an earlier one with the same endpoints.
func TestListAfterRestart(t *testing.T) {
	d := newTestDriver(t)
	h := runtimetest.NewHarness(t, d, runtimetest.BuildImage(t, d))
	c := h.Launch(t, h.Spec(nil))

	d2, err := New(shared.socket, Options{InstancesDir: d.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d2.Close() }()
	got, err := d2.List(t.Context(), map[string]string{runtimetest.LabelRun: h.RunID})
	if err != nil || len(got) != 1 {
		t.Fatalf("List after restart = %+v, %v; want one container", got, err)
	}
	if got[0].ID != c.ID || got[0].Endpoint != c.Endpoint || got[0].State != runtime.StateRunning {
		t.Errorf("List after restart = %+v, want %s at %v running", got[0], c.ID, c.Endpoint)
	}
	if answer := runtimetest.Call(t, got[0], "GET", "/"); answer != "ok" {
		t.Errorf("GET / through the listed endpoint = %q, want ok", answer)
	}
}

// TestNoLeaks: nothing of a container is left after Remove, nor after a
// Create that failed.
func TestNoLeaks(t *testing.T) {
	d := newTestDriver(t)
	h := runtimetest.NewHarness(t, d, runtimetest.BuildImage(t, d))

	c := h.Launch(t, h.Spec(nil))
	if err := d.Remove(t.Context(), c.ID); err != nil {
		t.Fatalf("Remove = %v", err)
	}
	bad := h.Spec(nil)
	bad.Image = "localhost/containerpub-runtimetest/absent:none"
	if _, err := d.Create(t.Context(), bad); err == nil {
		t.Fatal("Create with a missing image succeeded")
	}
	got, err := d.List(t.Context(), map[string]string{runtimetest.LabelRun: h.RunID})
	if err != nil || len(got) != 0 {
		t.Errorf("List after Remove = %+v, %v; want none", got, err)
	}
	entries, err := os.ReadDir(d.dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("instances dir after Remove holds %v (%v), want nothing", entries, err)
	}
}

// TestUndoCanceledCreate: after a create whose context ended, the
// container Podman made anyway is removed, but only if it is the one the
// spec describes.
func TestUndoCanceledCreate(t *testing.T) {
	d := newTestDriver(t)
	h := runtimetest.NewHarness(t, d, runtimetest.BuildImage(t, d))
	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name      string
		otherRun  bool
		wantExist bool
	}{
		{"ours", false, false},
		{"someone-elses", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := h.Spec(nil)
			c := h.Create(t, spec) // as if Podman finished a create we gave up on
			cs := d.createSpec(spec, runtime.Limits{OpenFiles: 1, Procs: 1})
			if tt.otherRun {
				cs.Labels[runtimetest.LabelRun] = "another-run"
			}
			d.undoCanceledCreate(canceled, cs)
			if !tt.otherRun {
				d.removeInstanceDir(spec.Name) // as Create does after the undo
			}
			_, _, err := d.Inspect(t.Context(), c.ID)
			if exists := err == nil; exists != tt.wantExist {
				t.Errorf("container exists after undoCanceledCreate = %v (%v), want %v", exists, err, tt.wantExist)
			}
		})
	}
}

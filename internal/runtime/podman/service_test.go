package podman

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartServiceNoPodman(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir, err := os.MkdirTemp("", "cpub-nopodman-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	_, err = StartService(t.Context(), dir, nil)
	if err == nil || !strings.Contains(err.Error(), "podman not installed: run scripts/setup.sh") {
		t.Errorf("StartService without podman = %v, want the setup hint", err)
	}
}

// TestServiceLifecycle starts a second service of its own, checks that it
// runs with runc, that a second start reuses it, and that Stop ends it
// but not the reuser's view of it.
func TestServiceLifecycle(t *testing.T) {
	needPodman(t)
	dir, err := os.MkdirTemp("", "cpub-svc-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()

	svc, err := StartService(t.Context(), dir, testLogger())
	if err != nil {
		t.Fatalf("StartService = %v", err)
	}
	defer func() { _ = svc.Stop() }()
	if want := filepath.Join(dir, "podman", "podman.sock"); svc.SocketPath() != want {
		t.Errorf("SocketPath() = %s, want %s", svc.SocketPath(), want)
	}
	info := serviceInfo(t, svc.SocketPath())
	if info.OCIRuntime != "runc" {
		t.Errorf("service OCI runtime = %q, want runc from its containers.conf", info.OCIRuntime)
	}

	again, err := StartService(t.Context(), dir, testLogger())
	if err != nil {
		t.Fatalf("second StartService = %v", err)
	}
	if again.cmd != nil {
		t.Error("second StartService started a process instead of reusing the service")
	}
	if err := again.Stop(); err != nil {
		t.Errorf("Stop of a reused service = %v", err)
	}
	if !svc.answers(t.Context()) {
		t.Fatal("Stop of the reused service stopped the real one")
	}

	if err := svc.Stop(); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if svc.answers(t.Context()) {
		t.Error("service still answers after Stop")
	}
}

func serviceInfo(t *testing.T, socket string) Info {
	t.Helper()
	c := newClient(socket)
	defer c.close()
	info, err := c.info(context.WithoutCancel(t.Context()))
	if err != nil {
		t.Fatalf("info = %v", err)
	}
	return info
}

package runtimetest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerpub/containerpub/internal/runtime"
)

// startFnapp runs the test function as a host process, which checks the
// test function itself without a container runtime.
func startFnapp(t *testing.T, startup string) (runtime.Container, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fn")
	if err := os.WriteFile(bin, compileFnapp(t), 0o700); err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("", "cpub-fnapp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "fn.sock")

	var out bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Env = []string{runtime.SocketEnv + "=" + sock, "FN_STARTUP=" + startup}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := runtime.Container{Name: "host-fnapp", Endpoint: runtime.Endpoint{Network: "unix", Address: sock}}
	WaitReady(t, c.Endpoint)
	return c, cmd, &out
}

// TestFnappProbe: the probe report decodes into Probe with the values
// the host process really has.
func TestFnappProbe(t *testing.T) {
	c, _, _ := startFnapp(t, "")
	p := ReadProbe(t, c)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if p.UID != os.Getuid() || p.GID != os.Getgid() {
		t.Errorf("probe uid/gid = %d/%d, want %d/%d", p.UID, p.GID, os.Getuid(), os.Getgid())
	}
	if p.NoFileHard != lim.Max || p.CapBnd == "" || p.NoNewPrivs == "" || p.UIDMap == "" {
		t.Errorf("probe = %+v, want the host's open files limit %d and filled fields", p, lim.Max)
	}
	if p.TmpWriteErr != "" || len(p.Interfaces) == 0 {
		t.Errorf("probe = %+v, want a writable /tmp and interfaces", p)
	}
}

// TestFnappSteps: the startup steps and the exit route do what the
// suite expects of them.
func TestFnappSteps(t *testing.T) {
	c, cmd, out := startFnapp(t, "lines,ignoreterm")
	if got := Call(t, c, "GET", "/env?name=FN_STARTUP"); got != "lines,ignoreterm" {
		t.Errorf("GET /env = %q", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := Call(t, c, "GET", "/"); got != "ok" {
		t.Errorf("GET / after an ignored SIGTERM = %q, want ok", got)
	}
	Call(t, c, "GET", "/exit?code=9")
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 9 {
		t.Errorf("exit = %v, want code 9", err)
	}
	for _, want := range []string{"stdout line 3\n", "stderr line 2\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
}

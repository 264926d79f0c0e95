package podman

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/internal/runtime"
)

// specDriver returns a Driver for tests that make no calls, with fixed
// host limits.
func specDriver(t *testing.T) *Driver {
	t.Helper()
	dir, err := os.MkdirTemp("", "cpub-spec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	d, err := New("/nonexistent/podman.sock", Options{InstancesDir: dir, OCIRuntime: "runc"})
	if err != nil {
		t.Fatal(err)
	}
	d.hostOpenFiles, d.hostProcs = 20000, 4096
	return d
}

func TestCreateSpec(t *testing.T) {
	d := specDriver(t)
	spec := runtime.ContainerSpec{
		Name:   "fn-1",
		Image:  "localhost/fn:1",
		Labels: map[string]string{runtime.LabelFunction: "f1"},
		Env:    map[string]string{"A": "1", runtime.SocketEnv: "/elsewhere"},
		Limits: runtime.Limits{MemoryBytes: 128 << 20, NanoCPUs: 500000000, Pids: 64, TmpfsBytes: 16 << 20},
	}
	lim, err := d.resolveLimits(spec.Limits)
	if err != nil {
		t.Fatal(err)
	}
	timeout := stopTimeout
	dir := filepath.Join(d.dir, "fn-1")
	want := createSpec{
		Name:               "fn-1",
		Image:              "localhost/fn:1",
		Labels:             map[string]string{runtime.LabelFunction: "f1", runtime.LabelManaged: "true"},
		Env:                map[string]string{"A": "1", runtime.SocketEnv: "/run/containerpub/fn.sock"},
		User:               "65534:65534",
		OCIRuntime:         "runc",
		Systemd:            "false",
		UserNS:             &namespace{NSMode: "auto", Value: "size=65536"},
		IDMappings:         &idMappings{AutoUserNs: true, AutoUserNsOpts: autoUserNsOpts{Size: 65536}},
		NetNS:              &namespace{NSMode: "none"},
		IPCNS:              &namespace{NSMode: "none"},
		ReadOnlyFilesystem: true,
		CapDrop:            []string{"all"},
		NoNewPrivileges:    true,
		SeccompPolicy:      "default",
		ResourceLimits: &resourceLimits{
			Memory: &memoryLimits{Limit: 128 << 20, Swap: 128 << 20},
			CPU:    &cpuLimits{Quota: 50000, Period: 100000},
			Pids:   &pidsLimits{Limit: 64},
		},
		RLimits: []rlimit{
			{Type: "nofile", Hard: 1024, Soft: 1024},
			{Type: "nproc", Hard: 1024, Soft: 1024},
		},
		Mounts: []mount{
			{Destination: "/run/containerpub", Source: dir, Type: "bind", Options: []string{"rw", "nosuid", "nodev", "noexec"}},
			{Destination: "/tmp", Source: "tmpfs", Type: "tmpfs", Options: []string{"nosuid", "nodev", "size=16777216"}},
			{Destination: "/dev/shm", Source: "shm", Type: "tmpfs", Options: []string{"nosuid", "nodev", "noexec", "size=16777216"}},
		},
		StopTimeout: &timeout,
		LogConfig:   &logConfig{Driver: "k8s-file", Size: 1 << 20},
	}
	if diff := cmp.Diff(want, d.createSpec(spec, lim)); diff != "" {
		t.Errorf("createSpec() (-want +got):\n%s", diff)
	}
	if spec.Labels[runtime.LabelManaged] != "" || spec.Env[runtime.SocketEnv] != "/elsewhere" {
		t.Error("createSpec() changed the caller's maps")
	}
}

func TestCreateSpecNetwork(t *testing.T) {
	d := specDriver(t)
	s := d.createSpec(runtime.ContainerSpec{Name: "n", Image: "i", Network: true}, runtime.Limits{OpenFiles: 1, Procs: 1})
	if s.NetNS != nil {
		t.Errorf("createSpec(Network).NetNS = %+v, want the default network", s.NetNS)
	}
	if s.ResourceLimits != nil {
		t.Errorf("createSpec(no limits).ResourceLimits = %+v, want nil", s.ResourceLimits)
	}
}

func TestResolveLimits(t *testing.T) {
	d := specDriver(t)
	tests := []struct {
		name    string
		in      runtime.Limits
		want    runtime.Limits
		wantErr bool
	}{
		{"defaults", runtime.Limits{}, runtime.Limits{OpenFiles: 1024, Procs: 1024}, false},
		{"kept", runtime.Limits{OpenFiles: 20000, Procs: 10}, runtime.Limits{OpenFiles: 20000, Procs: 10}, false},
		{"open-files-above-host", runtime.Limits{OpenFiles: 20001}, runtime.Limits{}, true},
		{"procs-above-host", runtime.Limits{Procs: 4097}, runtime.Limits{}, true},
		{"negative-memory", runtime.Limits{MemoryBytes: -1}, runtime.Limits{}, true},
		{"negative-open-files", runtime.Limits{OpenFiles: -5}, runtime.Limits{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.resolveLimits(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("resolveLimits(%+v) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resolveLimits(%+v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	// A host allowing fewer files than the default lowers the default.
	d.hostOpenFiles = 512
	if got, _ := d.resolveLimits(runtime.Limits{}); got.OpenFiles != 512 {
		t.Errorf("default open files under a 512 host limit = %d, want 512", got.OpenFiles)
	}
}

func TestCPUQuota(t *testing.T) {
	tests := []struct {
		nano, want int64
	}{
		{1e9, 100000},
		{2500000000, 250000},
		{1, minCPUQuota},
	}
	for _, tt := range tests {
		r := resources(runtime.Limits{NanoCPUs: tt.nano})
		if r == nil || r.CPU.Quota != tt.want {
			t.Errorf("resources(NanoCPUs %d).CPU = %+v, want quota %d", tt.nano, r, tt.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	d := specDriver(t)
	tests := []struct {
		name string
		ok   bool
	}{
		{"fn-hello-3", true},
		{"A.b_c-1", true},
		{"", false},
		{".", false},
		{"..", false},
		{"-x", false},
		{"a/b", false},
		{"a b", false},
		{strings.Repeat("a", d.maxNameLen), true},
		{strings.Repeat("a", d.maxNameLen+1), false},
	}
	for _, tt := range tests {
		if err := d.checkName(tt.name); (err == nil) != tt.ok {
			t.Errorf("checkName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// FuzzCheckName: an accepted name always gives a socket path that fits
// and stays directly below the instances directory.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"fn-1", "..", "a/../../b", ".x", "a\x00b"} {
		f.Add(s)
	}
	dir, err := os.MkdirTemp("", "cpub-fuzz-")
	if err != nil {
		f.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	d, err := New("/nonexistent.sock", Options{InstancesDir: dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if d.checkName(name) != nil {
			return
		}
		sock := d.endpoint(name).Address
		if filepath.Dir(filepath.Dir(sock)) != d.dir || filepath.Base(filepath.Dir(sock)) != name {
			t.Errorf("name %q gives socket %s outside %s", name, sock, d.dir)
		}
		if len(sock) > maxSocketPath {
			t.Errorf("name %q gives a %d-byte socket path", name, len(sock))
		}
	})
}

func TestContainerState(t *testing.T) {
	tests := map[string]string{
		"configured":  runtime.StateCreated,
		"created":     runtime.StateCreated,
		"initialized": runtime.StateCreated,
		"running":     runtime.StateRunning,
		"stopped":     runtime.StateExited,
		"exited":      runtime.StateExited,
		"paused":      runtime.StateOther,
		"stopping":    runtime.StateOther,
		"":            runtime.StateOther,
	}
	for in, want := range tests {
		if got := containerState(in); got != want {
			t.Errorf("containerState(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 80))
	tests := []struct {
		name   string
		socket string
		dir    string
	}{
		{"no-socket", "", t.TempDir()},
		{"no-dir", "/x.sock", ""},
		{"dir-too-long", "/x.sock", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.socket, Options{InstancesDir: tt.dir}); err == nil {
				t.Errorf("New(%q, %q) succeeded", tt.socket, tt.dir)
			}
		})
	}
}

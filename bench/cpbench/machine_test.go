package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCPUModel(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "x86", in: "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t: fpu\n", want: "AMD EPYC"},
		{name: "missing", in: "processor\t: 0\nBogoMIPS\t: 50.00\n", want: "unknown"},
		{name: "empty", in: "", want: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cpuModel([]byte(tt.in)); got != tt.want {
				t.Errorf("cpuModel(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReadMachine(t *testing.T) {
	m, err := readMachine(context.Background())
	if err != nil {
		t.Fatalf("readMachine: %v", err)
	}
	if m.Cores < 1 || m.Kernel == "" || m.MemoryKB <= 0 || m.Go == "" {
		t.Errorf("readMachine() = %+v, want cores, kernel, memory and Go filled in", m)
	}
}

func TestWithoutBackendEnv(t *testing.T) {
	in := []string{"PATH=/bin", "CONTAINERPUB_PODMAN_SOCKET=/x", "HOME=/root", "CONTAINERPUB_DATABASE_URL=postgres://x"}
	want := []string{"PATH=/bin", "HOME=/root"}
	if diff := cmp.Diff(want, withoutBackendEnv(in)); diff != "" {
		t.Errorf("withoutBackendEnv (-want +got):\n%s", diff)
	}
}

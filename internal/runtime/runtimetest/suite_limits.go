package runtimetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/internal/runtime"
)

// testStats: Stats reads a running container's memory, limit, CPU time
// and processes.
func testStats(t *testing.T, h *Harness) {
	const limit = 64 << 20
	spec := h.Spec(nil)
	spec.Limits.MemoryBytes = limit
	c := h.Launch(t, spec)
	Call(t, c, "GET", "/alloc?mb=16")
	Call(t, c, "GET", "/burn?ms=300")

	s, err := h.Driver.Stats(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("Stats(%s) = %v", c.ID, err)
	}
	// The function touched 16 MiB and spun 300 ms on a CPU it had to
	// itself; the bounds leave room for accounting granularity.
	if s.MemoryBytes < 16<<20 || s.MemoryBytes > limit {
		t.Errorf("Stats.MemoryBytes = %d, want 16 MiB to the 64 MiB limit", s.MemoryBytes)
	}
	if s.MemoryLimitBytes != limit {
		t.Errorf("Stats.MemoryLimitBytes = %d, want %d", s.MemoryLimitBytes, limit)
	}
	if s.CPUNanos < 150e6 {
		t.Errorf("Stats.CPUNanos = %d, want at least 150 ms after a 300 ms spin", s.CPUNanos)
	}
	if s.Pids < 1 {
		t.Errorf("Stats.Pids = %d, want at least 1", s.Pids)
	}
}

func testStatsMissing(t *testing.T, h *Harness) {
	_, err := h.Driver.Stats(t.Context(), missingName(h))
	wantNotFound(t, "Stats of a missing container", err)
}

// noCaps is an empty capability set as /proc/self/status shows it.
const noCaps = "0000000000000000"

// testIsolation: without Network the function has only loopback; it runs
// as a non-root user with no capabilities and no way to gain privileges,
// on a read-only root with a writable /tmp, under the given rlimits.
func testIsolation(t *testing.T, h *Harness) {
	spec := h.Spec(nil)
	spec.Limits = runtime.Limits{OpenFiles: 512, Procs: 300, TmpfsBytes: 8 << 20}
	p := ReadProbe(t, h.Launch(t, spec))

	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"uid-not-root", p.UID != 0, p.UID},
		{"no-capabilities", p.CapEff == noCaps && p.CapBnd == noCaps, [2]string{p.CapEff, p.CapBnd}},
		{"no-new-privileges", p.NoNewPrivs == "1", p.NoNewPrivs},
		// Not just any error: a non-root user could not write to / of a
		// writable root either.
		{"root-read-only", strings.Contains(p.RootWriteErr, "read-only file system"), p.RootWriteErr},
		{"tmp-writable", p.TmpWriteErr == "", p.TmpWriteErr},
		{"open-files", p.NoFileSoft == 512 && p.NoFileHard == 512, [2]uint64{p.NoFileSoft, p.NoFileHard}},
		{"procs", p.NProcSoft == 300 && p.NProcHard == 300, [2]uint64{p.NProcSoft, p.NProcHard}},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
	if diff := cmp.Diff([]string{"lo"}, p.Interfaces); diff != "" {
		t.Errorf("network interfaces without Network (-want +got):\n%s", diff)
	}
}

// testNetwork: with Network the function has an interface besides
// loopback.
func testNetwork(t *testing.T, h *Harness) {
	spec := h.Spec(nil)
	spec.Network = true
	p := ReadProbe(t, h.Launch(t, spec))
	others := slices.DeleteFunc(slices.Clone(p.Interfaces), func(s string) bool { return s == "lo" })
	if len(others) == 0 {
		t.Errorf("interfaces with Network = %v, want one besides lo", p.Interfaces)
	}
}

// testOutOfMemory: a function allocating past its memory limit is
// killed, and Inspect says so.
func testOutOfMemory(t *testing.T, h *Harness) {
	spec := h.Spec(map[string]string{"FN_STARTUP": "alloc=100"})
	spec.Limits.MemoryBytes = 32 << 20
	c := h.Create(t, spec)
	if err := h.Driver.Start(t.Context(), c.ID); err != nil {
		t.Fatalf("Start(%s) = %v", c.ID, err)
	}
	exit := WaitExited(t, h.Driver, c.ID)
	t.Logf("out of memory: OOMKilled %v, exit code %d", exit.OOMKilled, exit.ExitCode)
	if !exit.OOMKilled && exit.ExitCode != 137 {
		t.Errorf("exit after allocating 100 MiB under 32 MiB = %+v, want OOMKilled or code 137", exit)
	}
}

// testConcurrent: the driver is safe for concurrent use.
func testConcurrent(t *testing.T, h *Harness) {
	const n = 4
	specs := make([]runtime.ContainerSpec, n)
	for i := range specs {
		specs[i] = h.Spec(nil)
	}
	created := make([]runtime.Container, n)
	errs := parallel(n, func(i int) error {
		c, err := h.Driver.Create(t.Context(), specs[i])
		if err != nil {
			return fmt.Errorf("Create(%s): %w", specs[i].Name, err)
		}
		created[i] = c
		return h.Driver.Start(t.Context(), c.ID)
	})
	for _, c := range created {
		if c.ID == "" {
			continue
		}
		if errs == nil {
			WaitReady(t, c.Endpoint)
			if got := Call(t, c, "GET", "/"); got != "ok" {
				t.Errorf("GET / on %s = %q, want ok", c.Name, got)
			}
		}
	}
	if errs != nil {
		t.Error(errs)
	}
	rmErrs := parallel(n, func(i int) error {
		if created[i].ID == "" {
			return nil
		}
		return h.Driver.Remove(t.Context(), created[i].ID)
	})
	if rmErrs != nil {
		t.Errorf("concurrent Remove: %v", rmErrs)
	}
}

// parallel runs fn(0..n-1) at once and joins their errors.
func parallel(n int, fn func(int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

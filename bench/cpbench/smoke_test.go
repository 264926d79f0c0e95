package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunSmoke runs every benchmark once, briefly, against the real
// backend and CLI built from this tree and real Podman: the whole
// program as `make bench` runs it, in about a minute.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the smoke run takes about a minute")
	}
	if _, err := exec.LookPath("podman"); err != nil {
		if os.Getenv("CONTAINERPUB_REQUIRE_SERVICES") == "1" {
			t.Fatalf("Podman is required: %v", err)
		}
		t.Skipf("SKIPPING: Podman is not installed (%v); run scripts/setup.sh", err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/dart_cloud_backend", "./cmd/dart_cloud")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build binaries: %v\n%s", err, out)
	}
	cfg := Config{
		Backend: filepath.Join(bin, "dart_cloud_backend"), CLI: filepath.Join(bin, "dart_cloud"),
		Repo: filepath.Join("..", ".."), BackendLogLevel: "info",
		WarmRuns: 1, WarmDuration: 300 * time.Millisecond, WarmWarmup: 100 * time.Millisecond,
		ColdRuns: 2, BurstCalls: 10, BurstRepeats: 1, DeployRuns: 1,
		Timeout: 10 * time.Minute, ProfileDir: t.TempDir(), Command: "smoke",
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(&logs, testWriter{t}), nil))
	rep, err := runAll(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("runAll: %v", err)
	}
	checkSmokeReport(t, rep)
	var out bytes.Buffer
	if err := rep.write(&out); err != nil {
		t.Fatalf("write report: %v", err)
	}
	for _, want := range []string{"## 1. Warm overhead", "## 5. Memory", "backend-c16.pprof"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(logs.String(), "leftover") {
		t.Error("clean-up found leftover containers: deleting the functions did not remove them")
	}
}

func checkSmokeReport(t *testing.T, rep *report) {
	t.Helper()
	if len(rep.Warm) != len(warmConcurrency) {
		t.Fatalf("warm results for %d concurrencies, want %d", len(rep.Warm), len(warmConcurrency))
	}
	for _, w := range rep.Warm {
		for _, r := range w.Runs {
			if r.Direct.Calls == 0 || r.Backend.Calls == 0 || r.Bare.Calls == 0 ||
				r.Direct.Errors+r.Backend.Errors+r.Bare.Errors != 0 {
				t.Errorf("warm c=%d: calls %d direct, %d backend, %d bare; errors %d, %d, %d (%s%s%s)",
					w.Concurrency, r.Direct.Calls, r.Backend.Calls, r.Bare.Calls,
					r.Direct.Errors, r.Backend.Errors, r.Bare.Errors,
					r.Direct.FirstError, r.Backend.FirstError, r.Bare.FirstError)
			}
			if r.BackendCPU.Backend <= 0 || r.BareCPU.Backend <= 0 || r.DirectCPU.Function <= 0 ||
				r.DirectCPU.Loader <= 0 {
				t.Errorf("warm c=%d: CPU %+v direct, %+v backend, %+v bare; "+
					"want the proxies, the function and the loader busy",
					w.Concurrency, r.DirectCPU, r.BackendCPU, r.BareCPU)
			}
		}
	}
	if len(rep.Cold.Runs) != 2 || rep.Cold.Missing != 0 || rep.Cold.NotCold != 0 {
		t.Errorf("cold: %d runs, %d records missing, %d not cold; want 2, 0, 0",
			len(rep.Cold.Runs), rep.Cold.Missing, rep.Cold.NotCold)
	}
	for _, r := range rep.Cold.Runs {
		if r.TTFB <= 0 || r.Instance.Process <= 0 || r.Instance.Conmon <= 0 {
			t.Errorf("cold run %+v: want a time to first byte and the instance's memory", r)
		}
	}
	if len(rep.Burst) != 1 || rep.Burst[0].Errors != 0 || rep.Burst[0].Instances < 1 || rep.Burst[0].Missing != 0 {
		t.Errorf("burst: %+v, want one burst without errors, served by at least one instance", rep.Burst)
	}
	if len(rep.Deploy.Runs) != 1 || rep.Deploy.Runs[0] <= 0 {
		t.Errorf("deploy runs %v, want one", rep.Deploy.Runs)
	}
	m := rep.Memory
	backendOK := m.BackendIdle > 0 && m.BackendPeak > 0 && m.BackendEnd > 0 && m.BackendRunPeak >= m.BackendPeak
	if !backendOK || len(m.Prepared) == 0 || len(m.Running) != 1 {
		t.Errorf("memory %+v: want backend figures, one running instance and prepared containers", m)
	}
	if len(rep.Profiles) != len(warmConcurrency)+1 {
		t.Errorf("profiles %v, want a heap profile and a CPU profile per concurrency", rep.Profiles)
	}
}

// testWriter sends progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

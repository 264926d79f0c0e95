package main

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/bench/load"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// result makes a load result of n calls with latencies spread evenly
// from lo to hi.
func result(n int, lo, hi time.Duration, elapsed time.Duration) load.Result {
	h := load.NewHistogram()
	for i := range n {
		h.Record(lo + (hi-lo)*time.Duration(i)/time.Duration(max(n-1, 1)))
	}
	return load.Result{Calls: uint64(n), Elapsed: elapsed, Latency: h}
}

// pair makes one warm run pair of n direct and m backend calls over 5s.
func pair(n, m int, dlo, dhi, blo, bhi time.Duration, direct, backend cpuTimes) warmRun {
	return warmRun{
		Direct: result(n, dlo, dhi, 5*time.Second), Backend: result(m, blo, bhi, 5*time.Second),
		DirectCPU: direct, BackendCPU: backend,
	}
}

// withBare adds to r a bare proxy run of n calls over 5s with latencies
// from lo to hi.
func withBare(r warmRun, n int, lo, hi time.Duration, bare cpuTimes) warmRun {
	r.Bare, r.BareCPU = result(n, lo, hi, 5*time.Second), bare
	return r
}

// cpu makes the CPU times of one run, in milliseconds.
func cpu(backend, function, conmon, loader int) cpuTimes {
	ms := time.Millisecond
	return cpuTimes{Backend: time.Duration(backend) * ms, Function: time.Duration(function) * ms,
		Conmon: time.Duration(conmon) * ms, Loader: time.Duration(loader) * ms}
}

// sampleReport is a report with made-up figures, some meeting their
// targets and some not.
func sampleReport() *report {
	us := time.Microsecond
	ms := time.Millisecond
	r := &report{
		Command: "bin/cpbench -backend bin/dart_cloud_backend",
		Started: time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC),
		Took:    7 * time.Minute,
		Config: Config{BackendLogLevel: "info", WarmRuns: 2, WarmDuration: 5 * time.Second,
			WarmWarmup: 500 * ms, BurstCalls: 100},
		Machine: machine{CPU: "AMD EPYC", Cores: 2, Kernel: "6.1.0", MemoryKB: 24 << 20,
			Go: "go1.26.8 linux/amd64", Podman: "4.3.1 (runc, cgroups v1)", Load: [3]float64{1.5, 2, 2.25}},
		LoadEnd:      [3]float64{3, 2.5, 2},
		WarmInstance: "cp-0123456789ab",
		Deploy: deployResult{Warmup: 4 * time.Second,
			Runs: []time.Duration{2100 * ms, 2300 * ms, 2200 * ms}},
		Warm: []warmResult{
			{Concurrency: 1, Runs: []warmRun{
				withBare(pair(5000, 3000, 150*us, 250*us, 400*us, 600*us, cpu(100, 500, 80, 600),
					cpu(600, 300, 50, 400)), 4000, 200*us, 300*us, cpu(240, 400, 60, 480)),
				withBare(pair(5200, 3100, 140*us, 240*us, 380*us, 580*us, cpu(110, 520, 80, 620),
					cpu(620, 310, 50, 410)), 4200, 190*us, 290*us, cpu(250, 420, 60, 500)),
			}},
			{Concurrency: 16, Runs: []warmRun{
				withBare(pair(20000, 9000, 500*us, 1500*us, ms, 3*ms, cpu(300, 2000, 300, 2000),
					cpu(2000, 1000, 100, 1000)), 14000, 700*us, 2100*us, cpu(1120, 1400, 150, 1400)),
				withBare(pair(21000, 8000, 500*us, 1500*us, ms, 3*ms, cpu(300, 2000, 300, 2000),
					cpu(2000, 1000, 100, 1000)), 15000, 700*us, 2100*us, cpu(1200, 1500, 150, 1500)),
			}},
		},
		Cold: coldResult{NotCold: 1, Recorded: []time.Duration{30 * ms, 40 * ms}},
		Burst: []burstResult{{Errors: 0, Instances: 3, Running: 10, Cold: 3,
			Recorded: []time.Duration{5 * ms, 50 * ms},
			Calls:    []burstCall{{Latency: 20 * ms}, {Latency: 60 * ms}}}},
		Memory: memoryResult{
			BackendIdle: 30 << 20, BackendPeak: 40 << 20, BackendRunPeak: 150 << 20, BackendEnd: 35 << 20,
			Running: []containerMemory{{Function: fnWarm, Status: "running", Process: 6 << 20, Conmon: 1 << 19}},
			Prepared: []containerMemory{
				{Function: fnCold, Status: "initialized", Process: 4 << 20, Conmon: 1 << 19}},
		},
	}
	for i, d := range []int{35, 45, 120, 250} {
		r.Cold.Runs = append(r.Cold.Runs, coldRun{RequestID: string(rune('a' + i)), TTFB: time.Duration(d) * ms,
			Instance: containerMemory{Function: fnCold, Status: "running", Process: 3 << 20, Conmon: 1 << 19}})
	}
	return r
}

func TestReportGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().write(&buf); err != nil {
		t.Fatalf("write: %v", err)
	}
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to make it)", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("report differs from %s (-want +got):\n%s", golden, diff)
	}
}

// TestReportFigures checks the figures the summary derives, apart from
// their layout.
func TestReportFigures(t *testing.T) {
	r := sampleReport()
	c1, c16 := r.Warm[0], r.Warm[1]
	// Run p50s are 200 and 500 µs, then 190 and 480 µs: added 300 and
	// 290 µs, to the histogram's precision.
	got, want := c1.addedP50(pathBackend), 295*time.Microsecond
	if got < want-2*time.Microsecond || got > want+2*time.Microsecond {
		t.Errorf("addedP50 at c=1 = %v, want about %v", got, want)
	}
	// Bare proxy p50s are 250 and 240 µs: added 50 µs in both rounds.
	got, want = c1.addedP50(pathBare), 50*time.Microsecond
	if got < want-2*time.Microsecond || got > want+2*time.Microsecond {
		t.Errorf("bare addedP50 at c=1 = %v, want about %v", got, want)
	}
	// Run shares are 9000/20000 and 8000/21000: the median of two is
	// their mean.
	if got, want := c16.share(pathBackend), (0.45+8000.0/21000)/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("share at c=16 = %v, want %v", got, want)
	}
	if got, want := c16.share(pathBare), (0.7+15000.0/21000)/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("bare share at c=16 = %v, want %v", got, want)
	}
	if got, want := c1.cpuPerCall(pathBackend), time.Duration((200000.0+620e6/3100)/2); got != want {
		t.Errorf("cpuPerCall at c=1 = %v, want %v", got, want)
	}
	// The bare proxy's CPU is its rows' Backend field: 1120 ms over 14000
	// calls and 1200 ms over 15000, 80 µs each.
	if got, want := c16.cpuPerCall(pathBare), 80*time.Microsecond; got != want {
		t.Errorf("bare cpuPerCall at c=16 = %v, want %v", got, want)
	}
	if got, want := r.runningMedian(), int64(3<<20+1<<19); got != want {
		t.Errorf("runningMedian = %d, want %d", got, want)
	}
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{name: "max_met", got: verdictMax(300*time.Microsecond, 300*time.Microsecond), want: "met"},
		{name: "max_missed", got: verdictMax(450*time.Microsecond, 300*time.Microsecond),
			want: "**missed** by 150.0 µs (50% over)"},
		{name: "below_equal_is_missed", got: verdictBelow(5*time.Second, 5*time.Second), want: "**missed**"},
		{name: "below_met", got: verdictBelow(4*time.Second, 5*time.Second), want: "met"},
		{name: "share_met", got: verdictMinFloat(0.4, 0.4), want: "met"},
		{name: "share_missed", got: verdictMinFloat(0.35, 0.4), want: "**missed** by 5.0 points"},
		{name: "zero", got: verdictZero(0), want: "met"},
		{name: "not_zero", got: verdictZero(2), want: "**missed**"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.HasPrefix(tt.got, tt.want) {
				t.Errorf("verdict = %q, want it to start with %q", tt.got, tt.want)
			}
		})
	}
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// report is everything a run measured.
type report struct {
	Command      string
	Started      time.Time
	Took         time.Duration
	Config       Config
	Machine      machine
	LoadEnd      [3]float64
	BackendPID   int
	WarmInstance string
	Deploy       deployResult
	Warm         []warmResult
	Cold         coldResult
	Burst        []burstResult
	Memory       memoryResult
	// Profiles lists the CPU profiles written, when profiling.
	Profiles []string
}

// deployResult is the deploy benchmark.
type deployResult struct {
	Warmup time.Duration
	Runs   []time.Duration
}

// memoryResult is the memory benchmark; the memory of instances fresh
// from a cold start is in the cold runs.
type memoryResult struct {
	// BackendIdle and BackendPeak are the backend's resident memory after
	// the deploys and at most during the backend runs at the highest warm
	// concurrency, in bytes.
	BackendIdle, BackendPeak int64
	// BackendRunPeak is the highest resident memory sampled over the
	// whole run, builds included.
	BackendRunPeak int64
	// BackendEnd is the resident memory once every benchmark is over.
	BackendEnd int64
	// Running holds instances that served warm load; Prepared holds
	// prepared containers, the whole cost of a function scaled to zero.
	Running, Prepared []containerMemory
}

// Targets of issue 3.
const (
	targetAddedP50    = 300 * time.Microsecond
	targetShare       = 0.40
	targetColdP50     = 100 * time.Millisecond
	targetColdP95     = 200 * time.Millisecond
	targetDeploy      = 5 * time.Second
	warmSummaryLowest = 1
)

// write renders the report as Markdown.
func (r *report) write(out io.Writer) error {
	w := bufio.NewWriter(out)
	p := &printer{w: w}
	r.header(p)
	r.summary(p)
	r.warmSection(p)
	r.coldSection(p)
	r.burstSection(p)
	r.deploySection(p)
	r.memorySection(p)
	return w.Flush()
}

// printer writes lines of Markdown; bufio keeps the first error.
type printer struct{ w *bufio.Writer }

// f writes one line. A failed write is not lost: the bufio.Writer keeps
// the first error and the report's Flush returns it.
func (p *printer) f(format string, args ...any) { _, _ = fmt.Fprintf(p.w, format+"\n", args...) }

// row writes one table row.
func (p *printer) row(cells ...string) { p.f("| %s |", strings.Join(cells, " | ")) }

// table writes a table's header and separator.
func (p *printer) table(cells ...string) {
	p.row(cells...)
	seps := make([]string, len(cells))
	for i := range seps {
		seps[i] = "---"
	}
	p.row(seps...)
}

func (r *report) header(p *printer) {
	m := r.Machine
	p.f("# ContainerPub benchmarks\n")
	p.f("Run started %s and took %s.\n", r.Started.Format(time.RFC3339), r.Took.Round(time.Second))
	p.table("machine", "")
	p.row("CPU", fmt.Sprintf("%s, %d cores", m.CPU, m.Cores))
	p.row("memory", fmt.Sprintf("%.1f GiB", float64(m.MemoryKB)/(1<<20)))
	p.row("kernel", m.Kernel)
	p.row("Go", m.Go)
	p.row("Podman", m.Podman)
	p.row("load average at start (1, 5, 15 min)", loadText(m.Load))
	p.row("load average at end", loadText(r.LoadEnd))
	p.f("\nCommand: `%s`\n", r.Command)
	p.f("The backend ran as its own process (SQLite, its own Podman service, log level %s) "+
		"on a fresh data directory; cpbench, the backend, Podman and the function instances "+
		"shared the machine's cores with whatever else ran on it.\n", r.Config.BackendLogLevel)
}

func loadText(l [3]float64) string { return fmt.Sprintf("%.2f, %.2f, %.2f", l[0], l[1], l[2]) }

func (r *report) summary(p *printer) {
	p.f("## Summary\n")
	p.table("figure", "target", "measured", "verdict")
	for _, w := range r.Warm {
		added := w.addedP50(pathBackend)
		cpu := fmtMicros(w.cpuPerCall(pathBackend))
		if w.Concurrency == warmSummaryLowest {
			p.row(fmt.Sprintf("warm: added latency at p50, c=%d", w.Concurrency), "≤ 0.30 ms",
				fmtMS(added), verdictMax(added, targetAddedP50))
			p.row(fmt.Sprintf("warm: backend CPU per call, c=%d", w.Concurrency), "report", cpu, "-")
			continue
		}
		share := w.share(pathBackend)
		p.row(fmt.Sprintf("warm: backend throughput / direct, c=%d", w.Concurrency), "≥ 40%",
			fmtPct(share), verdictMinFloat(share, targetShare))
		p.row(fmt.Sprintf("warm: added latency at p50, c=%d", w.Concurrency), "-", fmtMS(added), "-")
		p.row(fmt.Sprintf("warm: backend CPU per call, c=%d", w.Concurrency), "report", cpu, "-")
		// The bare proxy's figures are a reference for the two above,
		// not targets.
		p.row(fmt.Sprintf("warm: bare Go reverse proxy throughput / direct, c=%d", w.Concurrency), "reference",
			fmtPct(w.share(pathBare)), "-")
		p.row(fmt.Sprintf("warm: bare proxy CPU per call, c=%d", w.Concurrency), "reference",
			fmtMicros(w.cpuPerCall(pathBare)), "-")
	}
	cold := r.Cold.ttfbs()
	p50, p95 := percentile(cold, 0.5), percentile(cold, 0.95)
	p.row("cold start to first byte, p50", "≤ 100 ms", fmtMS(p50), verdictMax(p50, targetColdP50))
	p.row("cold start to first byte, p95", "≤ 200 ms", fmtMS(p95), verdictMax(p95, targetColdP95))
	p.row("cold records not marked cold_start", "0", fmt.Sprint(r.Cold.NotCold+r.Cold.Missing),
		verdictZero(r.Cold.NotCold+r.Cold.Missing))
	errs, inst := r.burstTotals()
	p.row(fmt.Sprintf("burst of %d first calls: errors (all bursts)", r.Config.BurstCalls), "0",
		fmt.Sprint(errs), verdictZero(errs))
	p.row("burst: instances that served calls / started", "report", inst, "-")
	dep := time.Duration(medianOf(r.Deploy.Runs, durF))
	p.row("deploy examples/hello, warm cache, median", "< 5 s", fmtSec(dep), verdictBelow(dep, targetDeploy))
	p.row("backend RSS idle after deploys / peak under warm load / idle at the end", "report",
		fmtMiB(r.Memory.BackendIdle)+" / "+fmtMiB(r.Memory.BackendPeak)+" / "+fmtMiB(r.Memory.BackendEnd), "-")
	p.row("running instance PSS (process + conmon), median", "report", fmtMiB(r.runningMedian()), "-")
	p.row("function scaled to zero: prepared container PSS, median", "report",
		fmtMiB(int64(medianOf(r.Memory.Prepared, memF))), "-")
	p.f("")
}

// burstTotals returns the errors of every burst and the instance counts
// of each.
func (r *report) burstTotals() (errs int, instances string) {
	var counts []string
	for _, b := range r.Burst {
		errs += b.Errors
		counts = append(counts, fmt.Sprintf("%d / %d", b.Instances, b.Running))
	}
	return errs, strings.Join(counts, ", ")
}

// runningMedian returns the median PSS of the instances that served
// warm load and of those fresh from a cold start.
func (r *report) runningMedian() int64 {
	all := append([]containerMemory(nil), r.Memory.Running...)
	for _, c := range r.Cold.Runs {
		all = append(all, c.Instance)
	}
	return int64(medianOf(all, memF))
}

func durF(d time.Duration) float64   { return float64(d) }
func memF(m containerMemory) float64 { return float64(m.Total()) }
func (c coldResult) ttfbs() []time.Duration {
	out := make([]time.Duration, len(c.Runs))
	for i, r := range c.Runs {
		out[i] = r.TTFB
	}
	return out
}

// verdictMax says whether v is within a maximum, and by how much not.
func verdictMax(v, limit time.Duration) string {
	if v <= limit {
		return "met"
	}
	return missedBy(v, limit)
}

// verdictBelow says whether v is strictly under a limit.
func verdictBelow(v, limit time.Duration) string {
	if v < limit {
		return "met"
	}
	return missedBy(v, limit)
}

func missedBy(v, limit time.Duration) string {
	return fmt.Sprintf("**missed** by %s (%.0f%% over)", fmtAuto(v-limit), 100*float64(v-limit)/float64(limit))
}

func verdictMinFloat(v, floor float64) string {
	if v >= floor {
		return "met"
	}
	return fmt.Sprintf("**missed** by %.1f points", 100*(floor-v))
}

func verdictZero(n int) string {
	if n == 0 {
		return "met"
	}
	return "**missed**"
}

// fmtAuto writes a duration in the unit its size calls for.
func fmtAuto(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmtSec(d)
	case d >= time.Millisecond:
		return fmtMS(d)
	}
	return fmtMicros(d)
}

func fmtMS(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 10 && ms > -10 {
		return fmt.Sprintf("%.3f ms", ms)
	}
	return fmt.Sprintf("%.1f ms", ms)
}

func fmtSec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func fmtMicros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

func fmtMiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func fmtPct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

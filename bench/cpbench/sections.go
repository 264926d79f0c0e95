package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/containerpub/containerpub/bench/load"
)

// warmPath is one way the warm runs reach the instance.
type warmPath struct {
	name   string
	result func(warmRun) load.Result
	cpu    func(warmRun) cpuTimes
}

// The warm paths, in the order each round runs them.
var (
	pathDirect = warmPath{"direct",
		func(r warmRun) load.Result { return r.Direct }, func(r warmRun) cpuTimes { return r.DirectCPU }}
	pathBackend = warmPath{"backend",
		func(r warmRun) load.Result { return r.Backend }, func(r warmRun) cpuTimes { return r.BackendCPU }}
	pathBare = warmPath{"bare proxy",
		func(r warmRun) load.Result { return r.Bare }, func(r warmRun) cpuTimes { return r.BareCPU }}
	warmPaths = []warmPath{pathDirect, pathBackend, pathBare}
)

// perCall returns the CPU time per call of each process in p's run of r.
func (p warmPath) perCall(r warmRun) cpuTimes { return p.cpu(r).perCall(p.result(r)) }

// proxyCPU returns the CPU time per call of the proxy, backend or bare,
// in p's run of r.
func (p warmPath) proxyCPU(r warmRun) time.Duration { return p.perCall(r).Backend }

// addedP50 returns the median over rounds of p's p50 minus direct p50.
// Comparing runs that ran next to each other cancels slow drifts of the
// machine's load.
func (w warmResult) addedP50(p warmPath) time.Duration {
	return time.Duration(medianOf(w.Runs, func(r warmRun) float64 {
		return float64(p.result(r).Latency.Quantile(0.5) - r.Direct.Latency.Quantile(0.5))
	}))
}

// share returns the median over rounds of p's throughput divided by
// direct throughput.
func (w warmResult) share(p warmPath) float64 {
	return medianOf(w.Runs, func(r warmRun) float64 {
		if r.Direct.Throughput() == 0 {
			return 0
		}
		return p.result(r).Throughput() / r.Direct.Throughput()
	})
}

// cpuPerCall returns the median CPU time per call of p's proxy.
func (w warmResult) cpuPerCall(p warmPath) time.Duration {
	return time.Duration(medianOf(w.Runs, func(r warmRun) float64 { return float64(p.proxyCPU(r)) }))
}

func (r *report) warmSection(p *printer) {
	c := r.Config
	p.f("## 1. Warm overhead\n")
	p.f("Function `%s` (answers `ok`; concurrency 64, max_instances 1, cpus %d) has one instance, `%s`. "+
		"The same Go load generator (one kept-alive connection per worker, fixed duration, "+
		"latency histogram within 0.8%%) calls it directly on its unix socket, through the backend "+
		"at `/f/%s/` and through a bare proxy, in turn: %d runs per path and concurrency, each %s after a %s warm-up. "+
		"The bare proxy is the reference floor of the backend's hop: cpbench's own binary run as a process "+
		"of its own that serves loopback HTTP/1.1 with nothing but Go's `httputil.ReverseProxy`, kept-alive "+
		"connections to the instance's socket and pooled 32 KiB copy buffers. "+
		"Figures are medians over the runs; added latency and throughput share are medians over "+
		"each direct run and the backend or bare proxy run after it. Proxy CPU is utime+stime of the backend "+
		"(or bare proxy) process over the measured window, per call; the first error of a run, if any, is quoted.\n",
		fnWarm, r.Machine.Cores, r.WarmInstance, fnWarm, c.WarmRuns, c.WarmDuration, c.WarmWarmup)
	p.table("c", "path", "p50", "p90", "p99", "calls/s", "errors")
	for _, w := range r.Warm {
		for _, side := range warmPaths {
			q := func(f float64) string {
				return fmtMS(time.Duration(medianOf(w.Runs, func(x warmRun) float64 {
					return float64(side.result(x).Latency.Quantile(f))
				})))
			}
			rps := medianOf(w.Runs, func(x warmRun) float64 { return side.result(x).Throughput() })
			var errs uint64
			for _, x := range w.Runs {
				errs += side.result(x).Errors
			}
			p.row(fmt.Sprint(w.Concurrency), side.name, q(0.5), q(0.9), q(0.99),
				fmt.Sprintf("%.0f", rps), fmt.Sprint(errs))
		}
	}
	p.f("")
	p.table("c", "path", "added at p50", "throughput / direct", "proxy CPU per call")
	for _, w := range r.Warm {
		for _, side := range []warmPath{pathBackend, pathBare} {
			p.row(fmt.Sprint(w.Concurrency), side.name, fmtMS(w.addedP50(side)), fmtPct(w.share(side)),
				fmtMicros(w.cpuPerCall(side)))
		}
	}
	p.f("\nCPU time per call by process (medians over the runs; utime+stime from /proc over the " +
		"measured window; in the bare proxy rows the backend column is the bare proxy's process; " +
		"the load generator is cpbench itself; steps of 10 ms over the window):\n")
	p.table("c", "path", "backend", "function", "conmon", "load generator", "total")
	for _, w := range r.Warm {
		for _, side := range warmPaths {
			m := func(f func(cpuTimes) time.Duration) string {
				return fmtMicros(time.Duration(medianOf(w.Runs, func(x warmRun) float64 {
					return float64(f(side.perCall(x)))
				})))
			}
			p.row(fmt.Sprint(w.Concurrency), side.name,
				m(func(c cpuTimes) time.Duration { return c.Backend }),
				m(func(c cpuTimes) time.Duration { return c.Function }),
				m(func(c cpuTimes) time.Duration { return c.Conmon }),
				m(func(c cpuTimes) time.Duration { return c.Loader }),
				m(cpuTimes.Total))
		}
	}
	p.f("\nEvery run:\n")
	p.table("c", "run", "direct p50", "backend p50", "bare proxy p50",
		"direct calls/s", "backend calls/s", "bare proxy calls/s",
		"backend CPU per call", "bare proxy CPU per call", "first error")
	for _, w := range r.Warm {
		for i, x := range w.Runs {
			p.row(fmt.Sprint(w.Concurrency), fmt.Sprint(i+1),
				fmtMS(x.Direct.Latency.Quantile(0.5)), fmtMS(x.Backend.Latency.Quantile(0.5)),
				fmtMS(x.Bare.Latency.Quantile(0.5)),
				fmt.Sprintf("%.0f", x.Direct.Throughput()), fmt.Sprintf("%.0f", x.Backend.Throughput()),
				fmt.Sprintf("%.0f", x.Bare.Throughput()),
				fmtMicros(pathBackend.proxyCPU(x)), fmtMicros(pathBare.proxyCPU(x)),
				firstError(x.Direct.FirstError, x.Backend.FirstError, x.Bare.FirstError))
		}
	}
	p.f("")
}

func firstError(errs ...string) string {
	for _, e := range errs {
		if e != "" {
			return strings.ReplaceAll(e, "|", "/")
		}
	}
	return "-"
}

func (r *report) coldSection(p *printer) {
	ds := r.Cold.ttfbs()
	p.f("## 2. Cold start\n")
	p.f("Function `%s` (idle_timeout 1s, default scaling). Before each of %d runs, cpbench waits "+
		"(polling the Podman API) until none of its containers runs and an initialised prepared "+
		"container exists, then times one GET from sending the request to the first byte of the "+
		"answer (httptrace GotFirstResponseByte), on a new connection.\n", fnCold, len(ds))
	p.table("p50", "p95", "min", "max", "records not cold_start", "records missing", "recorded duration p50")
	p.row(fmtMS(percentile(ds, 0.5)), fmtMS(percentile(ds, 0.95)), fmtMS(percentile(ds, 0)),
		fmtMS(percentile(ds, 1)), fmt.Sprint(r.Cold.NotCold), fmt.Sprint(r.Cold.Missing),
		fmtMS(percentile(r.Cold.Recorded, 0.5)))
	all := make([]string, len(ds))
	for i, d := range ds {
		all[i] = fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
	}
	p.f("\nEvery run, in ms, in order: %s\n", strings.Join(all, ", "))
}

func (r *report) burstSection(p *printer) {
	p.f("## 3. Burst\n")
	p.f("Function `%s` (concurrency 1, max_instances 10, idle_timeout 1s). Once it has scaled to "+
		"zero, %d goroutines, each with a connection of its own, are released together; latency "+
		"is from sending to the last byte of the answer. Instances are counted from the execution "+
		"records' instance_id (served by) and from the function's containers seen running, polling "+
		"the Podman API, from the release until 1.5 s after the last answer (started). "+
		"The recorded duration is the records' own: from the gateway taking "+
		"the call, after the function's lookup, to the last byte.\n", fnBurst, r.Config.BurstCalls)
	p.table("burst", "errors", "served by", "started", "records cold_start", "records missing", "p50", "max",
		"recorded p50", "recorded max", "first error")
	for i, b := range r.Burst {
		ds := make([]time.Duration, len(b.Calls))
		for j, c := range b.Calls {
			ds[j] = c.Latency
		}
		p.row(fmt.Sprint(i+1), fmt.Sprint(b.Errors), fmt.Sprint(b.Instances), fmt.Sprint(b.Running),
			fmt.Sprint(b.Cold),
			fmt.Sprint(b.Missing), fmtMS(percentile(ds, 0.5)), fmtMS(percentile(ds, 1)),
			fmtMS(percentile(b.Recorded, 0.5)), fmtMS(percentile(b.Recorded, 1)), firstError(b.FirstError))
	}
	p.f("")
}

func (r *report) deploySection(p *printer) {
	d := r.Deploy
	p.f("## 4. Deploy\n")
	p.f("Wall time of `dart_cloud deploy --force examples/hello` from start to exit (pack, upload, "+
		"build, start, active), %d runs after one warm-up deploy (%s) that filled the account's "+
		"build cache.\n", len(d.Runs), fmtSec(d.Warmup))
	runs := make([]string, len(d.Runs))
	for i, x := range d.Runs {
		runs[i] = fmtSec(x)
	}
	p.table("median", "min", "max", "runs")
	p.row(fmtSec(time.Duration(medianOf(d.Runs, durF))), fmtSec(percentile(d.Runs, 0)),
		fmtSec(percentile(d.Runs, 1)), strings.Join(runs, ", "))
	p.f("")
}

func (r *report) memorySection(p *printer) {
	m := r.Memory
	p.f("## 5. Memory\n")
	p.f("Backend: VmRSS of the backend process, idle after the deploys (median of %d samples), "+
		"the peak sampled every %s during the backend runs at c=%d, and idle again at the end. Instances: PSS "+
		"(/proc/<pid>/smaps_rollup) of the container's process and of its conmon, the pids read "+
		"from the libpod inspect answer. A function scaled to zero keeps one prepared container: "+
		"its conmon and the `runc init` waiting to start the function.\n",
		idleSamples, rssInterval, warmConcurrency[len(warmConcurrency)-1])
	p.table("what", "figure")
	p.row("backend RSS idle", fmtMiB(m.BackendIdle))
	p.row(fmt.Sprintf("backend RSS peak during the backend runs at c=%d", warmConcurrency[len(warmConcurrency)-1]),
		fmtMiB(m.BackendPeak))
	p.row("backend RSS peak over the whole run (builds included)", fmtMiB(m.BackendRunPeak))
	p.row("backend RSS idle at the end (median of samples over a second)", fmtMiB(m.BackendEnd))
	p.f("")
	p.table("container", "state", "process PSS", "conmon PSS", "total")
	for _, c := range m.Running {
		memRow(p, c.Function+" (after warm load)", c)
	}
	fresh := make([]containerMemory, 0, len(r.Cold.Runs))
	for _, c := range r.Cold.Runs {
		fresh = append(fresh, c.Instance)
	}
	if len(fresh) > 0 {
		name := fmt.Sprintf("%s fresh after a cold call (median of %d)", fnCold, len(fresh))
		memRow(p, name, medianMemory(fresh))
	}
	for _, c := range m.Prepared {
		memRow(p, c.Function+" prepared", c)
	}
	p.f("")
	if len(r.Profiles) > 0 {
		p.f("Profiles of the backend (heap after the deploys; CPU under warm load through the backend, "+
			"taken after the measured runs): %s\n",
			strings.Join(r.Profiles, ", "))
	}
}

func memRow(p *printer, name string, c containerMemory) {
	p.row(name, c.Status, fmtMiB(c.Process), fmtMiB(c.Conmon), fmtMiB(c.Total()))
}

// medianMemory returns the median of each figure of ms.
func medianMemory(ms []containerMemory) containerMemory {
	return containerMemory{
		Function: ms[0].Function,
		Status:   ms[0].Status,
		Process:  int64(medianOf(ms, func(m containerMemory) float64 { return float64(m.Process) })),
		Conmon:   int64(medianOf(ms, func(m containerMemory) float64 { return float64(m.Conmon) })),
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/containerpub/containerpub/bench/load"
	"github.com/containerpub/containerpub/bench/proc"
	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
)

// warmRun is one round of runs at one concurrency: the instance called
// on its socket, then through the backend, then through the bare proxy.
type warmRun struct {
	Direct, Backend, Bare load.Result
	// DirectCPU, BackendCPU and BareCPU are the CPU time each process
	// used during the measured window of each run.
	DirectCPU, BackendCPU, BareCPU cpuTimes
}

// cpuTimes is the CPU time of each process taking part in a call. In the
// bare proxy's runs, Backend is the bare proxy's: the proxy of the call.
type cpuTimes struct {
	Backend, Function, Conmon, Loader time.Duration
}

// Total returns the CPU time of all of them.
func (c cpuTimes) Total() time.Duration { return c.Backend + c.Function + c.Conmon + c.Loader }

// perCall divides each time by the calls of r.
func (c cpuTimes) perCall(r load.Result) cpuTimes {
	calls := r.Calls + r.Errors
	if calls == 0 || calls > math.MaxInt64 {
		return cpuTimes{}
	}
	n := time.Duration(calls)
	return cpuTimes{Backend: c.Backend / n, Function: c.Function / n, Conmon: c.Conmon / n, Loader: c.Loader / n}
}

// warmResult is every run at one concurrency.
type warmResult struct {
	Concurrency int
	Runs        []warmRun
}

// warmPIDs are the processes whose CPU time the warm runs read.
type warmPIDs struct {
	backend, function, conmon, loader int
	// bare is the bare proxy's process.
	bare int
}

// viaBare returns p with the bare proxy in the backend's place: the
// processes of the bare proxy's runs.
func (p warmPIDs) viaBare() warmPIDs {
	p.backend = p.bare
	return p
}

// warmTargets are the three paths to the warm instance.
type warmTargets struct {
	direct, backend, bare load.Target
}

// read returns the CPU time each process has used so far.
func (p warmPIDs) read() (cpuTimes, error) {
	var c cpuTimes
	var errs [4]error
	c.Backend, errs[0] = proc.CPUTime(p.backend)
	c.Function, errs[1] = proc.CPUTime(p.function)
	c.Conmon, errs[2] = proc.CPUTime(p.conmon)
	c.Loader, errs[3] = proc.CPUTime(p.loader)
	return c, errors.Join(errs[:]...)
}

// sub returns c - o, field by field.
func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{Backend: c.Backend - o.Backend, Function: c.Function - o.Function,
		Conmon: c.Conmon - o.Conmon, Loader: c.Loader - o.Loader}
}

// benchWarm calls the warm function's one instance directly on its unix
// socket, through the backend and through the bare proxy with the same
// load generator, in turn, at each concurrency.
func (b *bench) benchWarm(ctx context.Context) (err error) {
	inst, err := b.warmInstance(ctx)
	if err != nil {
		return err
	}
	b.rep.WarmInstance = inst.Name
	ps, err := b.pod.inspectPIDs(ctx, inst.ID)
	if err != nil {
		return err
	}
	bare, err := startBareProxy(ctx, inst.Endpoint.Address)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, bare.stop()) }()
	pids := warmPIDs{backend: b.be.PID(), function: ps.Pid, conmon: ps.ConmonPid, loader: os.Getpid(),
		bare: bare.PID()}
	var d net.Dialer
	dial := func(ctx context.Context) (net.Conn, error) {
		return d.DialContext(ctx, "unix", inst.Endpoint.Address)
	}
	targets := warmTargets{
		direct:  load.Target{URL: "http://instance/", Dial: dial, WantBody: okBody},
		backend: load.Target{URL: b.be.URL + "/f/" + fnWarm + "/", WantBody: okBody},
		bare:    load.Target{URL: bare.URL + "/", WantBody: okBody},
	}

	for _, c := range warmConcurrency {
		res := warmResult{Concurrency: c}
		for i := range b.cfg.WarmRuns {
			run, err := b.warmRound(ctx, targets, c, pids)
			if err != nil {
				return err
			}
			b.log.Info("warm run", "concurrency", c, "run", i+1,
				"direct_p50", run.Direct.Latency.Quantile(0.5), "backend_p50", run.Backend.Latency.Quantile(0.5),
				"bare_p50", run.Bare.Latency.Quantile(0.5),
				"direct_rps", int(run.Direct.Throughput()), "backend_rps", int(run.Backend.Throughput()),
				"bare_rps", int(run.Bare.Throughput()))
			res.Runs = append(res.Runs, run)
		}
		b.rep.Warm = append(b.rep.Warm, res)
	}
	return b.checkSameInstance(ctx, inst)
}

// warmRound runs the direct, then the backend, then the bare proxy load
// at one concurrency, reading the CPU time of every process over each
// measured window and, at the highest concurrency, sampling the
// backend's memory during the backend run.
func (b *bench) warmRound(ctx context.Context, t warmTargets, c int, pids warmPIDs) (warmRun, error) {
	var run warmRun
	var err error
	if run.Direct, run.DirectCPU, err = b.warmLoad(ctx, t.direct, c, pids); err != nil {
		return run, fmt.Errorf("direct run at c=%d: %w", c, err)
	}
	var rss *rssSampler
	if c == warmConcurrency[len(warmConcurrency)-1] {
		rss = sampleRSS(pids.backend)
	}
	run.Backend, run.BackendCPU, err = b.warmLoad(ctx, t.backend, c, pids)
	if rss != nil {
		peak, rerr := rss.stop()
		b.rep.Memory.BackendPeak = max(b.rep.Memory.BackendPeak, peak)
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return run, fmt.Errorf("backend run at c=%d: %w", c, err)
	}
	if run.Bare, run.BareCPU, err = b.warmLoad(ctx, t.bare, c, pids.viaBare()); err != nil {
		return run, fmt.Errorf("bare proxy run at c=%d: %w", c, err)
	}
	return run, nil
}

// warmLoad runs one load and reads the processes' CPU time at the
// opening and the closing of its measured window.
func (b *bench) warmLoad(ctx context.Context, t load.Target, c int, pids warmPIDs) (load.Result, cpuTimes, error) {
	var at [2]cpuTimes
	var errs [2]error
	cfg := load.Config{
		Workers: c, Warmup: b.cfg.WarmWarmup, Duration: b.cfg.WarmDuration,
		OnWindow: func(closing bool) {
			i := 0
			if closing {
				i = 1
			}
			at[i], errs[i] = pids.read()
		},
	}
	res, err := load.Run(ctx, t, cfg)
	if err = errors.Join(err, errs[0], errs[1]); err != nil {
		return res, cpuTimes{}, err
	}
	return res, at[1].sub(at[0]), nil
}

// warmInstance returns the warm function's only running instance.
func (b *bench) warmInstance(ctx context.Context) (runtime.Container, error) {
	ctrs, err := b.containers(ctx, fnWarm)
	if err != nil {
		return runtime.Container{}, err
	}
	var running []runtime.Container
	for _, c := range ctrs {
		if c.State == runtime.StateRunning {
			running = append(running, c)
		}
	}
	if len(running) != 1 || running[0].Endpoint.Network != "unix" {
		return runtime.Container{}, fmt.Errorf("%s has %d running instances, want one on a unix socket: %s",
			fnWarm, len(running), describe(ctrs))
	}
	return running[0], nil
}

// checkSameInstance makes sure that the backend's calls went to the
// instance the direct runs called: it is still the only one running, and
// the last call's record names it.
func (b *bench) checkSameInstance(ctx context.Context, inst runtime.Container) error {
	now, err := b.warmInstance(ctx)
	if err != nil {
		return err
	}
	if now.ID != inst.ID {
		return fmt.Errorf("%s instance changed from %s to %s during the runs", fnWarm, inst.Name, now.Name)
	}
	deadline := time.Now().Add(recordWait)
	for {
		es, err := b.api.ListExecutions(ctx, fnWarm, client.ExecutionQuery{Limit: 1})
		if err != nil {
			return err
		}
		if len(es) == 1 && es[0].InstanceID == inst.Name {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the last record of %s does not name instance %s: %+v", fnWarm, inst.Name, es)
		}
		if err := sleep(ctx, pollInterval); err != nil {
			return err
		}
	}
}

// describe lists containers for an error message.
func describe(ctrs []runtime.Container) string {
	parts := make([]string, len(ctrs))
	for i, c := range ctrs {
		parts[i] = c.Name + " " + c.State
	}
	return strings.Join(parts, ", ")
}

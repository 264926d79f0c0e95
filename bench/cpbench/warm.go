package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/containerpub/containerpub/bench/load"
	"github.com/containerpub/containerpub/bench/proc"
	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
)

// warmRun is one pair of runs at one concurrency: the instance called on
// its socket, then through the backend.
type warmRun struct {
	Direct, Backend load.Result
	// BackendCPU is the backend's CPU time during the measured window of
	// the backend run.
	BackendCPU time.Duration
}

// CPUPerCall returns the backend's CPU time per call of the backend run.
func (r warmRun) CPUPerCall() time.Duration {
	n := r.Backend.Calls + r.Backend.Errors
	if n == 0 {
		return 0
	}
	return r.BackendCPU / time.Duration(n)
}

// warmResult is every run at one concurrency.
type warmResult struct {
	Concurrency int
	Runs        []warmRun
}

// benchWarm calls the warm function's one instance directly on its unix
// socket and through the backend with the same load generator,
// alternating, at each concurrency.
func (b *bench) benchWarm(ctx context.Context) error {
	inst, err := b.warmInstance(ctx)
	if err != nil {
		return err
	}
	b.rep.WarmInstance = inst.Name
	var d net.Dialer
	direct := load.Target{
		URL:      "http://instance/",
		Dial:     func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", inst.Endpoint.Address) },
		WantBody: okBody,
	}
	viaBackend := load.Target{URL: b.be.URL + "/f/" + fnWarm + "/", WantBody: okBody}

	for _, c := range warmConcurrency {
		res := warmResult{Concurrency: c}
		for i := range b.cfg.WarmRuns {
			run, err := b.warmPair(ctx, direct, viaBackend, c)
			if err != nil {
				return err
			}
			b.log.Info("warm run", "concurrency", c, "run", i+1,
				"direct_p50", run.Direct.Latency.Quantile(0.5), "backend_p50", run.Backend.Latency.Quantile(0.5),
				"direct_rps", int(run.Direct.Throughput()), "backend_rps", int(run.Backend.Throughput()))
			res.Runs = append(res.Runs, run)
		}
		b.rep.Warm = append(b.rep.Warm, res)
	}
	return b.checkSameInstance(ctx, inst)
}

// warmPair runs the direct and then the backend load at one concurrency,
// reading the backend's CPU time over the backend run's window and, at
// the highest concurrency, sampling its memory.
func (b *bench) warmPair(ctx context.Context, direct, viaBackend load.Target, c int) (warmRun, error) {
	cfg := load.Config{Workers: c, Warmup: b.cfg.WarmWarmup, Duration: b.cfg.WarmDuration}
	var run warmRun
	var err error
	if run.Direct, err = load.Run(ctx, direct, cfg); err != nil {
		return run, err
	}
	pid := b.be.PID()
	var cpu [2]time.Duration
	var cpuErr [2]error
	cfg.OnWindow = func(closing bool) {
		i := 0
		if closing {
			i = 1
		}
		cpu[i], cpuErr[i] = proc.CPUTime(pid)
	}
	var rss *rssSampler
	if c == warmConcurrency[len(warmConcurrency)-1] {
		rss = sampleRSS(pid)
	}
	run.Backend, err = load.Run(ctx, viaBackend, cfg)
	if rss != nil {
		peak, rerr := rss.stop()
		b.rep.Memory.BackendPeak = max(b.rep.Memory.BackendPeak, peak)
		err = errors.Join(err, rerr)
	}
	if err = errors.Join(err, cpuErr[0], cpuErr[1]); err != nil {
		return run, err
	}
	run.BackendCPU = cpu[1] - cpu[0]
	return run, nil
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

package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/containerpub/containerpub/bench/proc"
	"github.com/containerpub/containerpub/internal/runtime"
)

// Memory sampling.
const (
	rssInterval = 100 * time.Millisecond
	idleSamples = 10
)

var (
	errNoState = errors.New("no State in the answer")
	errBadPID  = errors.New("negative process id")
	errNoPID   = errors.New("container has no process")
)

// measureIdle reads the backend's resident memory after the deploys and
// before any load.
func (b *bench) measureIdle(ctx context.Context) error {
	rss, err := b.idleRSS(ctx)
	if err != nil {
		return err
	}
	b.rep.Memory.BackendIdle = rss
	return b.heapProfile(ctx, "backend-heap-after-deploys.pprof")
}

// measureEnd reads the backend's resident memory once the load is over.
func (b *bench) measureEnd(ctx context.Context) error {
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	rss, err := b.idleRSS(ctx)
	if err != nil {
		return err
	}
	b.rep.Memory.BackendEnd = rss
	return nil
}

// idleRSS returns the median of the backend's resident memory sampled
// over a second.
func (b *bench) idleRSS(ctx context.Context) (int64, error) {
	var samples []float64
	for range idleSamples {
		rss, err := proc.RSS(b.be.PID())
		if err != nil {
			return 0, err
		}
		samples = append(samples, float64(rss))
		if err := sleep(ctx, rssInterval); err != nil {
			return 0, err
		}
	}
	return int64(median(samples)), nil
}

// rssSampler records the highest resident memory of a process, read
// every rssInterval until stopped.
type rssSampler struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	peak  int64
	err   error
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{})}
	s.wg.Go(func() {
		t := time.NewTicker(rssInterval)
		defer t.Stop()
		for {
			rss, err := proc.RSS(pid)
			if err != nil {
				s.err = err
				return
			}
			s.peak = max(s.peak, rss)
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
		}
	})
	return s
}

// stop ends the sampling and returns the peak.
func (s *rssSampler) stop() (int64, error) {
	close(s.stopc)
	s.wg.Wait()
	return s.peak, s.err
}

// containerMemory is the proportional set size of a container's host
// processes.
type containerMemory struct {
	Function string
	Status   string
	// Process is the function's process while the container runs, and
	// the waiting `runc init` while it is only initialised.
	Process int64
	Conmon  int64
}

// Total returns the container's whole cost.
func (m containerMemory) Total() int64 { return m.Process + m.Conmon }

// containerPSS reads the memory of a container's process and conmon.
func (b *bench) containerPSS(ctx context.Context, fn string, c runtime.Container) (containerMemory, error) {
	pids, err := b.pod.inspectPIDs(ctx, c.ID)
	if err != nil {
		return containerMemory{}, err
	}
	if pids.Pid == 0 || pids.ConmonPid == 0 {
		return containerMemory{}, fmt.Errorf("container %s (%s): %w", c.Name, pids.Status, errNoPID)
	}
	m := containerMemory{Function: fn, Status: pids.Status}
	if m.Process, err = proc.PSS(pids.Pid); err != nil {
		return containerMemory{}, err
	}
	if m.Conmon, err = proc.PSS(pids.ConmonPid); err != nil {
		return containerMemory{}, err
	}
	return m, nil
}

// measureInstances reads the memory of the warm function's running
// instance, after its load, and of every function's prepared container:
// what a function costs while scaled to zero.
func (b *bench) measureInstances(ctx context.Context) error {
	for _, fn := range []string{fnWarm, fnCold, fnBurst} {
		ctrs, err := b.containers(ctx, fn)
		if err != nil {
			return err
		}
		for _, c := range ctrs {
			if c.State != runtime.StateRunning && c.State != runtime.StateCreated {
				continue
			}
			m, err := b.containerPSS(ctx, fn, c)
			if errors.Is(err, errNoPID) {
				continue // not initialised yet: no process to measure
			}
			if err != nil {
				return err
			}
			if c.State == runtime.StateRunning {
				b.rep.Memory.Running = append(b.rep.Memory.Running, m)
			} else {
				b.rep.Memory.Prepared = append(b.rep.Memory.Prepared, m)
			}
		}
	}
	if len(b.rep.Memory.Prepared) == 0 {
		return errors.New("no prepared container to measure")
	}
	return nil
}

// containers lists the containers of a deployed function.
func (b *bench) containers(ctx context.Context, fn string) ([]runtime.Container, error) {
	id, ok := b.fnIDs[fn]
	if !ok {
		return nil, fmt.Errorf("function %s was not deployed", fn)
	}
	return b.driver.List(ctx, map[string]string{runtime.LabelFunction: id})
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

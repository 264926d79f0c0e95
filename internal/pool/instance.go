package pool

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// Instance states. An instance moves forward only.
const (
	statePrepared = iota // created and initialised, not started
	stateStarting        // process started, not yet listening
	stateReady           // serving calls
	stateDraining        // finishing its calls, then removed
	stateDead            // gone or going
)

// Instance is one container of a function version.
type Instance struct {
	pool      *Pool
	ctr       runtime.Container
	transport *transport
	logs      *logCollector

	// exited closes when the container's output stream ends, which is
	// when its process exits or it is removed.
	exited chan struct{}
	// exitOnce guards exitReason, set once exited is closed.
	exitOnce   sync.Once
	exitReason string

	// Guarded by pool.mu.
	state    int
	inflight int
	lastUsed time.Time
	fresh    bool // became ready during the current dispatch
	removing bool
	failed   bool // draining after a failed call
	// diedOnItsOwn is set when the process ended before the platform
	// stopped it: removing then follows, but the platform stopped nothing.
	diedOnItsOwn bool
}

// Name returns the container name, which is also the instance id in
// execution records and logs.
func (i *Instance) Name() string { return i.ctr.Name }

// Transport returns the HTTP transport that reaches the instance, keeping
// connections alive between calls.
func (i *Instance) Transport() http.RoundTripper { return i.transport }

// Retired reports whether the platform took the instance out of service
// (idle, deleted, replaced, failed), as opposed to it ending on its own.
func (i *Instance) Retired() bool {
	i.pool.mu.Lock()
	defer i.pool.mu.Unlock()
	return i.removing && !i.diedOnItsOwn
}

// Exited returns a channel closed when the instance's process has ended.
func (i *Instance) Exited() <-chan struct{} { return i.exited }

// ExitReason waits up to wait for the instance to exit and says why it
// did, or returns "" if it still runs.
func (i *Instance) ExitReason(wait time.Duration) string {
	// An exit already seen wins: a select over it and a timer of no
	// wait would pick either at random.
	select {
	case <-i.exited:
	default:
		if wait <= 0 {
			return ""
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-i.exited:
		case <-t.C:
			return ""
		}
	}
	i.exitOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		i.exitReason = i.pool.m.exitReason(ctx, i)
	})
	return i.exitReason
}

// start starts the instance's process and waits until it accepts
// connections, it exits, or ctx ends.
func (i *Instance) start(ctx context.Context) error {
	i.pool.mu.Lock()
	i.state = stateStarting
	i.pool.mu.Unlock()
	if err := i.pool.m.driver.Start(ctx, i.ctr.ID); err != nil {
		return fmt.Errorf("start %s: %w", i.ctr.Name, err)
	}
	return i.waitListening(ctx)
}

// waitListening polls the endpoint until a connection succeeds. A
// function may take seconds to start listening; a call is never forwarded
// before it does.
func (i *Instance) waitListening(ctx context.Context) error {
	delay := 500 * time.Microsecond
	for {
		conn, err := runtime.Dial(ctx, i.ctr.Endpoint)
		if err == nil {
			_ = conn.Close() // the dial was the test
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-i.exited:
			t.Stop()
			return fmt.Errorf("exited before listening: %s", i.ExitReason(time.Second))
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("not listening on %s within %s",
					i.ctr.Endpoint.Address, i.pool.m.cfg.StartTimeout)
			}
			return ctx.Err()
		case <-t.C:
		}
		if delay < 2*time.Millisecond {
			delay *= 2
		}
	}
}

package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/store"
)

// Errors of Acquire. The gateway turns them into HTTP answers.
var (
	// ErrQueueFull means the function's queue of waiting calls is full.
	ErrQueueFull = errors.New("too many calls waiting")
	// ErrQueueTimeout means a call waited its queue timeout for a free
	// instance and got none.
	ErrQueueTimeout = errors.New("no instance became free in time")
	// ErrClosed means the pool's version was replaced or deleted while the
	// call waited; the caller may resolve the function again.
	ErrClosed = errors.New("version no longer active")
	// ErrStartFailed means no instance could be started; the message says
	// why.
	ErrStartFailed = errors.New("instance failed to start")
)

// Deployment is what a pool needs to know about the version it runs.
type Deployment struct {
	FunctionID   string
	FunctionName string
	DeploymentID string
	Version      int
	Image        string
	// Config is the resolved configuration: every default filled in.
	Config client.FunctionConfig
}

// Pool runs the instances of one deployment: it starts them when calls
// need them, shares them between calls up to the concurrency setting,
// queues calls beyond capacity, and stops instances that stay idle.
type Pool struct {
	m   *Manager
	dep Deployment
	log *slog.Logger
	// staged marks the pool of a version still starting; guarded by m.mu.
	staged bool

	// mu guards every field below.
	mu        sync.Mutex
	ready     []*Instance // started and listening, in start order
	starting  int         // instances being started
	prepared  []*Instance // created and initialised, never started
	preparing int         // prepared instances being created
	waiters   []*waiter   // calls waiting for a slot, oldest first
	closed    bool
}

type waiter struct {
	// ch receives the instance whose slot was reserved for this waiter,
	// or nil with err set.
	ch   chan *Instance
	err  error
	cold bool
}

func newPool(m *Manager, dep Deployment) *Pool {
	return &Pool{
		m:   m,
		dep: dep,
		log: m.log.With("function", dep.FunctionName, "version", dep.Version),
	}
}

// Deployment returns the deployment the pool runs.
func (p *Pool) Deployment() Deployment { return p.dep }

// Lease is a reserved slot on an instance for one call. Release it exactly
// once.
type Lease struct {
	inst *Instance
	call *callLog
	// Cold is true when the call waited for an instance to start.
	Cold bool
}

// Instance returns the leased instance.
func (l *Lease) Instance() *Instance { return l.inst }

// Exclusive reports whether the leased instance serves one call at a
// time, and so marks the end of each call.
func (l *Lease) Exclusive() bool { return l.inst.logs.exclusive }

// CallDone returns a channel closed when an exclusive instance has
// finished the call (its end markers arrived) or has exited. It never
// closes for other instances.
func (l *Lease) CallDone() <-chan struct{} { return l.call.marked }

// Acquire reserves a slot for one call, starting an instance when none is
// free and the maximum allows. It waits up to the queue timeout or until
// ctx ends. requestID names the call in the instance's log attribution.
func (p *Pool) Acquire(ctx context.Context, requestID string) (*Lease, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if inst := p.freeInstanceLocked(); inst != nil {
		inst.inflight++
		p.mu.Unlock()
		return p.lease(inst, requestID, false), nil
	}
	if len(p.waiters) >= p.dep.Config.Scaling.MaxQueue {
		p.mu.Unlock()
		return nil, ErrQueueFull
	}
	w := &waiter{ch: make(chan *Instance, 1)}
	p.waiters = append(p.waiters, w)
	p.scaleUpLocked()
	p.mu.Unlock()

	timer := time.NewTimer(p.dep.Config.Scaling.QueueTimeout.D())
	defer timer.Stop()
	select {
	case inst := <-w.ch:
		if inst == nil {
			return nil, w.err
		}
		return p.lease(inst, requestID, w.cold), nil
	case <-timer.C:
		return p.abandon(w, requestID, ErrQueueTimeout)
	case <-ctx.Done():
		return p.abandon(w, requestID, ctx.Err())
	}
}

// TryAcquire reserves a slot on a free instance without waiting, or
// returns nil when there is none (or the pool is closed): then Acquire
// waits for one. It spares a call that finds a free slot the context
// Acquire needs.
func (p *Pool) TryAcquire(requestID string) *Lease {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	inst := p.freeInstanceLocked()
	if inst == nil {
		p.mu.Unlock()
		return nil
	}
	inst.inflight++
	p.mu.Unlock()
	return p.lease(inst, requestID, false)
}

// abandon takes a waiter out of the queue. If a slot was handed to it in
// the meantime, the call takes it after all rather than losing it.
func (p *Pool) abandon(w *waiter, requestID string, err error) (*Lease, error) {
	p.mu.Lock()
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			return nil, err
		}
	}
	p.mu.Unlock()
	inst := <-w.ch // already dispatched: the send happened under mu
	if inst == nil {
		return nil, w.err
	}
	if errors.Is(err, ErrQueueTimeout) {
		return p.lease(inst, requestID, w.cold), nil
	}
	p.release(inst, false)
	return nil, err
}

func (p *Pool) lease(inst *Instance, requestID string, cold bool) *Lease {
	return &Lease{inst: inst, call: inst.logs.begin(requestID), Cold: cold}
}

// freeInstanceLocked returns the ready instance with the fewest calls in
// flight below the concurrency limit, or nil.
func (p *Pool) freeInstanceLocked() *Instance {
	limit := p.dep.Config.Scaling.Concurrency
	var best *Instance
	for _, inst := range p.ready {
		if inst.state == stateReady && inst.inflight < limit &&
			(best == nil || inst.inflight < best.inflight) {
			best = inst
		}
	}
	return best
}

// scaleUpLocked starts instances until the ones starting can take every
// waiting call, within the maximum.
func (p *Pool) scaleUpLocked() {
	sc := p.dep.Config.Scaling
	for p.starting*sc.Concurrency < len(p.waiters) &&
		p.liveLocked() < sc.MaxInstances {
		p.starting++
		go p.startInstance()
	}
}

// liveLocked counts instances running or about to run.
func (p *Pool) liveLocked() int {
	n := p.starting
	for _, inst := range p.ready {
		if inst.state == stateReady || inst.state == stateDraining {
			n++
		}
	}
	return n
}

// Release ends a lease. With broken set, or when the instance died, the
// instance takes no more calls and is stopped and removed, at once or,
// when other calls are still on it, after the last of them. exec is
// the call's record; Release completes it with the call's output and
// hands it to the recorder.
func (l *Lease) Release(broken bool, exec store.Execution) {
	l.inst.logs.end(l.call, exec)
	l.inst.pool.release(l.inst, broken)
}

func (p *Pool) release(inst *Instance, broken bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inst.inflight--
	inst.lastUsed = p.m.now()
	if broken && inst.state != stateDead {
		if inst.inflight > 0 {
			// Other calls on it are still within their time: it takes
			// no new ones and stops when the last of them ends, so one
			// call's failure does not cut the others short.
			if inst.state != stateDraining {
				inst.state = stateDraining
				inst.failed = true
				inst.logs.system("instance stopping after a failed call, once its other calls end")
			}
			p.dispatchLocked()
			p.replaceLocked()
			return
		}
		p.retireLocked(inst, "instance stopped after a failed call")
		p.replaceLocked()
		return
	}
	if inst.state == stateDraining && inst.inflight == 0 {
		p.retireLocked(inst, "")
		if inst.failed {
			// Drained after a failure, not by a scale-down or a new
			// version: what waits for it needs a replacement.
			p.replaceLocked()
		}
		return
	}
	p.dispatchLocked()
}

// dispatchLocked hands free slots to waiting calls, oldest first.
func (p *Pool) dispatchLocked() {
	for len(p.waiters) > 0 {
		inst := p.freeInstanceLocked()
		if inst == nil {
			return
		}
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		inst.inflight++
		w.cold = inst.fresh
		w.ch <- inst
	}
}

// failWaitersLocked answers every waiting call with err, used when no
// instance can start.
func (p *Pool) failWaitersLocked(err error) {
	for _, w := range p.waiters {
		w.err = err
		w.ch <- nil
	}
	p.waiters = nil
}

// startInstance brings one instance up, from a prepared container when
// there is one, and gives its slots to waiting calls.
func (p *Pool) startInstance() {
	ctx, cancel := context.WithTimeout(context.Background(), p.m.cfg.StartTimeout)
	defer cancel()
	inst, err := p.bringUp(ctx)

	p.mu.Lock()
	defer p.mu.Unlock()
	if err = p.startedLocked(inst, err); err != nil && p.liveLocked() == 0 {
		p.failWaitersLocked(fmt.Errorf("%w: %w", ErrStartFailed, err))
	}
}

// bringUp takes or creates a prepared instance and starts it.
func (p *Pool) bringUp(ctx context.Context) (*Instance, error) {
	inst, err := p.takePrepared(ctx)
	if err != nil {
		return nil, err
	}
	return inst, inst.start(ctx)
}

// startedLocked files an instance whose start ended with err: ready
// instances join the pool and take waiting calls; failed ones go.
func (p *Pool) startedLocked(inst *Instance, err error) error {
	p.starting--
	if err != nil {
		p.log.Warn("instance failed to start", "error", err)
		if inst != nil {
			inst.logs.system("instance failed to start: " + err.Error())
			p.retireLocked(inst, "")
		}
		return err
	}
	if p.closed {
		p.retireLocked(inst, "")
		return ErrClosed
	}
	inst.state = stateReady
	inst.lastUsed = p.m.now()
	inst.fresh = true
	p.ready = append(p.ready, inst)
	p.dispatchLocked()
	inst.fresh = false
	p.refillLocked()
	return nil
}

// Warm makes sure one instance runs and listens, starting one if none is
// running or starting, and returns why it could not. A deployment becomes
// active only after its first instance started this way.
func (p *Pool) Warm(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	for _, inst := range p.ready {
		if inst.state == stateReady {
			p.mu.Unlock()
			return nil
		}
	}
	// Wait like a call would: the instance that starts for the minimum,
	// if one does, serves this wait too.
	w := &waiter{ch: make(chan *Instance, 1)}
	p.waiters = append(p.waiters, w)
	p.scaleUpLocked()
	p.mu.Unlock()

	select {
	case inst := <-w.ch:
		if inst == nil {
			return w.err
		}
		p.release(inst, false)
		return nil
	case <-ctx.Done():
		_, err := p.abandon(w, "", ctx.Err())
		return err
	}
}

// takePrepared returns a prepared instance, creating one if none waits.
func (p *Pool) takePrepared(ctx context.Context) (*Instance, error) {
	p.mu.Lock()
	if n := len(p.prepared); n > 0 {
		inst := p.prepared[n-1]
		p.prepared = p.prepared[:n-1]
		p.refillLocked()
		p.mu.Unlock()
		return inst, nil
	}
	p.mu.Unlock()
	return p.m.createInstance(ctx, p)
}

// refillLocked keeps one prepared container in reserve, so that the next
// cold start only has to start a process.
func (p *Pool) refillLocked() {
	if p.closed || p.m.cfg.Prepared <= 0 {
		return
	}
	for len(p.prepared)+p.preparing < p.m.cfg.Prepared {
		p.preparing++
		go p.prepareOne()
	}
}

func (p *Pool) prepareOne() {
	ctx, cancel := context.WithTimeout(context.Background(), p.m.cfg.StartTimeout)
	defer cancel()
	inst, err := p.m.createInstance(ctx, p)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.preparing--
	if err != nil {
		p.log.Warn("prepare instance", "error", err)
		return
	}
	if p.closed {
		p.retireLocked(inst, "")
		return
	}
	p.prepared = append(p.prepared, inst)
}

// retireLocked takes an instance out of service and removes its container
// in the background. note, when set, is written to the function's log.
func (p *Pool) retireLocked(inst *Instance, note string) {
	if inst.removing {
		return
	}
	for i, x := range p.ready {
		if x == inst {
			p.ready = append(p.ready[:i], p.ready[i+1:]...)
			break
		}
	}
	inst.state = stateDead
	inst.removing = true
	if note != "" {
		inst.logs.system(note)
	}
	p.m.removeInstance(inst)
}

// replaceLocked starts what the pool lacks after an instance went away:
// instances for calls still queued and for the minimum.
func (p *Pool) replaceLocked() {
	if p.closed {
		return
	}
	p.scaleUpLocked()
	for p.liveLocked() < p.dep.Config.Scaling.MinInstances {
		p.starting++
		go p.startInstance()
	}
}

// instanceDied is called when an instance's process ended on its own.
func (p *Pool) instanceDied(inst *Instance, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.prepared {
		if x == inst {
			p.prepared = append(p.prepared[:i], p.prepared[i+1:]...)
			break
		}
	}
	if inst.state == stateDead {
		return
	}
	wasStarted := inst.state != statePrepared
	inst.diedOnItsOwn = true
	p.log.Warn("instance exited", "instance", inst.Name(), "reason", reason)
	if wasStarted {
		inst.logs.system("instance exited: " + reason)
	}
	p.retireLocked(inst, "")
	p.refillLocked()
	p.replaceLocked()
}

// reap stops instances idle longer than the idle timeout, down to the
// minimum, and never one with a call in flight.
func (p *Pool) reap(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sc := p.dep.Config.Scaling
	idle := sc.IdleTimeout.D()
	keep := sc.MinInstances
	running := 0
	for _, inst := range p.ready {
		if inst.state == stateReady {
			running++
		}
	}
	for _, inst := range append([]*Instance(nil), p.ready...) {
		if running <= keep {
			return
		}
		if inst.state == stateReady && inst.inflight == 0 && now.Sub(inst.lastUsed) >= idle {
			p.log.Debug("stopping idle instance", "instance", inst.Name())
			p.retireLocked(inst, "")
			running--
		}
	}
}

// Stats is a snapshot of a pool.
type Stats struct {
	Ready, Starting, Prepared, Waiting, InFlight int
}

// Stats returns a snapshot of the pool's instances and queue.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Starting: p.starting, Prepared: len(p.prepared), Waiting: len(p.waiters)}
	for _, inst := range p.ready {
		if inst.state == stateReady {
			s.Ready++
		}
		s.InFlight += inst.inflight
	}
	return s
}

// ScaleToZero stops every instance regardless of the idle timeout and
// minimum; calls in flight finish first. Benchmarks use it to measure
// cold starts.
func (p *Pool) ScaleToZero() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drainLocked()
}

// drainLocked retires idle instances now and busy ones when their last
// call ends.
func (p *Pool) drainLocked() {
	for _, inst := range append([]*Instance(nil), p.ready...) {
		if inst.inflight == 0 {
			p.retireLocked(inst, "")
		} else {
			inst.state = stateDraining
		}
	}
}

// close stops the pool: waiting calls get ErrClosed, idle instances are
// removed now and busy ones when their calls end.
func (p *Pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.failWaitersLocked(ErrClosed)
	for _, inst := range p.prepared {
		inst.state = stateDead
		inst.removing = true
		p.m.removeInstance(inst)
	}
	p.prepared = nil
	p.drainLocked()
}

// instanceSpec is the container spec of an instance of this pool.
func (p *Pool) instanceSpec(name string) runtime.ContainerSpec {
	c := p.dep.Config
	env := make(map[string]string, len(c.Env)+3)
	for k, v := range c.Env {
		env[k] = v
	}
	env["CONTAINERPUB_FUNCTION"] = p.dep.FunctionName
	env["CONTAINERPUB_VERSION"] = fmt.Sprint(p.dep.Version)
	if c.Scaling.Concurrency == 1 {
		env[runtime.MarkersEnv] = "1"
	}
	return runtime.ContainerSpec{
		Name:  name,
		Image: p.dep.Image,
		Labels: map[string]string{
			runtime.LabelBackend:    p.m.cfg.BackendID,
			runtime.LabelFunction:   p.dep.FunctionID,
			runtime.LabelDeployment: p.dep.DeploymentID,
		},
		Env: env,
		Limits: runtime.Limits{
			MemoryBytes: int64(c.Limits.MemoryMB) << 20,
			NanoCPUs:    int64(c.Limits.CPUs * 1e9),
			Pids:        int64(c.Limits.Pids),
			OpenFiles:   int64(c.Limits.OpenFiles),
			Procs:       int64(c.Limits.Pids),
			TmpfsBytes:  16 << 20,
		},
		Network: c.Network,
	}
}

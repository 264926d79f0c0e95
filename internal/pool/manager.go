// Package pool runs function instances: one pool per deployed version,
// which starts containers when calls need them (from a prepared container
// when it can, so a cold start only starts a process), shares them between
// calls up to the concurrency setting, queues calls beyond capacity,
// stops instances that stay idle, and attributes their output to calls.
//
// Everything the pool holds can be rebuilt: containers carry labels naming
// their backend, function and deployment, and Adopt takes them back after
// a restart.
package pool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// Config tunes a Manager.
type Config struct {
	// BackendID labels this backend's containers.
	BackendID string
	// StartTimeout bounds creating an instance and waiting for it to
	// listen. Default 30s.
	StartTimeout time.Duration
	// Prepared is how many created and initialised containers each active
	// version keeps in reserve for cold starts. Default 1; negative for
	// none.
	Prepared int
	// ReapInterval is how often idle instances are looked for. Default 1s.
	ReapInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.StartTimeout <= 0 {
		c.StartTimeout = 30 * time.Second
	}
	if c.Prepared == 0 {
		c.Prepared = 1
	}
	if c.ReapInterval <= 0 {
		c.ReapInterval = time.Second
	}
}

// Manager holds the pools of every version this backend runs.
type Manager struct {
	driver runtime.Driver
	rec    Recorder
	cfg    Config
	log    *slog.Logger
	now    func() time.Time

	// streams is the context of output streams; it outlives calls.
	streams context.Context
	stop    context.CancelFunc

	// mu guards pools and closing.
	mu      sync.Mutex
	pools   map[string]*Pool // by deployment id
	closing bool

	removals sync.WaitGroup
}

// NewManager returns a Manager running containers with d.
func NewManager(d runtime.Driver, rec Recorder, cfg Config, logger *slog.Logger) *Manager {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		driver:  d,
		rec:     rec,
		cfg:     cfg,
		log:     logger,
		now:     time.Now,
		streams: ctx,
		stop:    cancel,
		pools:   make(map[string]*Pool),
	}
}

// Pool returns the pool of a deployment, creating it (and its prepared
// and minimum instances) on first use.
func (m *Manager) Pool(dep Deployment) *Pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.poolLocked(dep, false)
}

// Stage returns the pool of a deployment that is not active yet: a new
// version starting its first instance. Activating another version leaves
// staged pools alone.
func (m *Manager) Stage(dep Deployment) *Pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.poolLocked(dep, true)
}

func (m *Manager) poolLocked(dep Deployment, staged bool) *Pool {
	p, ok := m.pools[dep.DeploymentID]
	if !ok {
		p = newPool(m, dep)
		p.staged = staged
		m.pools[dep.DeploymentID] = p
		p.mu.Lock()
		p.refillLocked()
		p.replaceLocked()
		p.mu.Unlock()
	}
	return p
}

// Activate makes dep the version that runs for its function: pools of the
// function's other versions stop taking calls and drain, except staged
// ones, which belong to deployments still starting.
func (m *Manager) Activate(dep Deployment) *Pool {
	m.mu.Lock()
	p := m.poolLocked(dep, false)
	p.staged = false
	var old []*Pool
	for _, o := range m.pools {
		if o != p && o.dep.FunctionID == dep.FunctionID && !o.staged {
			old = append(old, o)
		}
	}
	m.mu.Unlock()
	for _, o := range old {
		m.closePool(o)
	}
	return p
}

func (m *Manager) functionPools(functionID string) []*Pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []*Pool
	for _, p := range m.pools {
		if p.dep.FunctionID == functionID {
			ps = append(ps, p)
		}
	}
	return ps
}

func (m *Manager) closePool(p *Pool) {
	m.mu.Lock()
	delete(m.pools, p.dep.DeploymentID)
	m.mu.Unlock()
	p.close()
}

// Discard closes a deployment's pool and removes its instances at once,
// for a version that failed to start or to activate.
func (m *Manager) Discard(deploymentID string) {
	m.mu.Lock()
	p := m.pools[deploymentID]
	m.mu.Unlock()
	if p != nil {
		m.kill(p)
	}
}

// kill closes a pool and retires all its instances, busy or not.
func (m *Manager) kill(p *Pool) {
	m.closePool(p)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, inst := range append([]*Instance(nil), p.ready...) {
		p.retireLocked(inst, "")
	}
}

// RemoveFunction stops every instance of a function at once, calls in
// flight included, and removes its containers. It returns when they are
// gone.
func (m *Manager) RemoveFunction(ctx context.Context, functionID string) error {
	for _, p := range m.functionPools(functionID) {
		m.kill(p)
	}
	m.removals.Wait()
	ctrs, err := m.driver.List(ctx, map[string]string{runtime.LabelFunction: functionID})
	if err != nil {
		return fmt.Errorf("list containers of function: %w", err)
	}
	for _, c := range ctrs {
		if err := m.driver.Remove(ctx, c.ID); err != nil {
			return fmt.Errorf("remove container %s: %w", c.Name, err)
		}
	}
	return nil
}

// Run stops idle instances until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.ReapInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := m.now()
		m.mu.Lock()
		ps := make([]*Pool, 0, len(m.pools))
		for _, p := range m.pools {
			ps = append(ps, p)
		}
		m.mu.Unlock()
		for _, p := range ps {
			p.reap(now)
		}
	}
}

// Close stops managing instances without stopping them, so that the next
// backend process adopts them, and waits for removals under way. Records
// of finished calls that still wait for their last output are written
// after a short wait, so that none is lost.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closing = true
	var collectors []*logCollector
	for _, p := range m.pools {
		p.mu.Lock()
		for _, inst := range p.ready {
			collectors = append(collectors, inst.logs)
		}
		p.mu.Unlock()
	}
	m.mu.Unlock()
	deadline := time.Now().Add(closeWait)
	for _, c := range collectors {
		for c.pending() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		c.flush()
	}
	m.stop()
	m.removals.Wait()
}

// closeWait bounds how long Close waits for the last output of calls.
const closeWait = 2 * time.Second

func (m *Manager) isClosing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closing
}

// createInstance creates a prepared container for p and attaches to its
// output.
func (m *Manager) createInstance(ctx context.Context, p *Pool) (*Instance, error) {
	ctr, err := m.driver.Create(ctx, p.instanceSpec(instanceName()))
	if err != nil {
		return nil, fmt.Errorf("create instance: %w", err)
	}
	inst, err := m.watch(p, ctr, statePrepared)
	if err != nil {
		m.removeContainer(ctr)
		return nil, err
	}
	return inst, nil
}

// watch wraps a container as an instance of p, streaming its output to
// the log collector and noticing when it exits.
func (m *Manager) watch(p *Pool, ctr runtime.Container, state int) (*Instance, error) {
	sc := p.dep.Config.Scaling
	inst := &Instance{
		pool:      p,
		ctr:       ctr,
		transport: newTransport(ctr.Endpoint, sc.Concurrency),
		logs:      newLogCollector(m.rec, p.dep.FunctionID, ctr.Name, sc.Concurrency == 1, m.now),
		exited:    make(chan struct{}),
		state:     state,
	}
	stdout := &lineWriter{c: inst.logs, stream: streamStdout}
	stderr := &lineWriter{c: inst.logs, stream: streamStderr}
	done, err := m.driver.Attach(m.streams, ctr.ID, stdout, stderr)
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", ctr.Name, err)
	}
	go func() {
		<-done
		stdout.finish()
		stderr.finish()
		inst.logs.closed()
		close(inst.exited)
		if m.isClosing() {
			return
		}
		p.mu.Lock()
		dead := inst.state == stateDead
		p.mu.Unlock()
		if !dead {
			p.instanceDied(inst, inst.ExitReason(0))
		}
	}()
	return inst, nil
}

// removeInstance removes an instance's container in the background.
func (m *Manager) removeInstance(inst *Instance) {
	inst.transport.CloseIdleConnections()
	m.removeContainer(inst.ctr)
}

func (m *Manager) removeContainer(ctr runtime.Container) {
	m.removals.Add(1)
	go func() {
		defer m.removals.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.driver.Remove(ctx, ctr.ID); err != nil {
			m.log.Error("remove instance", "instance", ctr.Name, "error", err)
		}
	}()
}

// exitReason says in words why an instance's process ended.
func (m *Manager) exitReason(ctx context.Context, inst *Instance) string {
	st, err := m.exitState(ctx, inst)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		return "instance removed"
	case err != nil:
		return "state unknown: " + err.Error()
	case st.OOMKilled:
		return fmt.Sprintf("out of memory (limit %d MiB)", inst.pool.dep.Config.Limits.MemoryMB)
	case st.State == runtime.StateRunning:
		return "output stream closed while the process runs"
	case st.Error != "":
		return st.Error
	case st.ExitCode == 137:
		// The platform kills only instances it has retired, which are
		// never asked why; some kernels (cgroup v1 hybrid) do not report
		// the OOM kill itself, so a SIGKILL is taken for what it almost
		// always is.
		return fmt.Sprintf("killed by SIGKILL: out of memory (limit %d MiB)",
			inst.pool.dep.Config.Limits.MemoryMB)
	case st.ExitCode > 128:
		return fmt.Sprintf("killed by signal %d", st.ExitCode-128)
	default:
		return fmt.Sprintf("exited with code %d", st.ExitCode)
	}
}

// exitState inspects an instance whose output stream ended. The runtime
// records the exit a moment after the stream closes, so a container still
// shown running is asked again for a while.
func (m *Manager) exitState(ctx context.Context, inst *Instance) (runtime.ExitState, error) {
	deadline := time.Now().Add(exitSettle)
	for {
		_, st, err := m.driver.Inspect(ctx, inst.ctr.ID)
		if err != nil || st.State != runtime.StateRunning || time.Now().After(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// exitSettle bounds how long exitState waits for the runtime to record an
// exit.
const exitSettle = 3 * time.Second

// instanceName returns a short unique container name; short because the
// driver puts it in a unix socket path, which may not exceed 107 bytes.
func instanceName() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return "cp-" + hex.EncodeToString(b[:])
}

package pool

import (
	"context"
	"fmt"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// Lookup tells Adopt which deployment a container belongs to and whether
// that deployment is still the active version of its function.
type Lookup func(ctx context.Context, deploymentID string) (dep Deployment, active bool, err error)

// Adopt takes over the containers an earlier process of this backend left
// behind: running instances of active versions serve calls again, prepared
// ones wait for cold starts, and everything else is removed, so that a
// restart leaves no orphans. Call it once at start, before serving calls.
func (m *Manager) Adopt(ctx context.Context, lookup Lookup) (adopted, removed int, err error) {
	ctrs, err := m.driver.List(ctx, map[string]string{runtime.LabelBackend: m.cfg.BackendID})
	if err != nil {
		return 0, 0, fmt.Errorf("list containers: %w", err)
	}
	touched := map[*Pool]bool{}
	for _, c := range ctrs {
		p, err := m.adoptOne(ctx, c, lookup)
		if err != nil {
			return adopted, removed, err
		}
		if p == nil {
			if err := m.driver.Remove(ctx, c.ID); err != nil {
				return adopted, removed, fmt.Errorf("remove container %s: %w", c.Name, err)
			}
			removed++
			continue
		}
		touched[p] = true
		adopted++
	}
	for p := range touched {
		p.mu.Lock()
		p.refillLocked()
		p.replaceLocked()
		p.mu.Unlock()
	}
	return adopted, removed, nil
}

// adoptOne returns the pool that took c, or nil when c is to be removed.
func (m *Manager) adoptOne(ctx context.Context, c runtime.Container, lookup Lookup) (*Pool, error) {
	dep, active, err := lookup(ctx, c.Labels[runtime.LabelDeployment])
	if err != nil {
		return nil, fmt.Errorf("look up deployment of %s: %w", c.Name, err)
	}
	if !active || (c.State != runtime.StateRunning && c.State != runtime.StateCreated) {
		return nil, nil
	}
	if c.State == runtime.StateRunning && !listening(ctx, c.Endpoint) {
		return nil, nil
	}
	p := m.adoptPool(dep)
	state := statePrepared
	if c.State == runtime.StateRunning {
		state = stateReady
	}
	inst, err := m.watch(p, c, state)
	if err != nil {
		m.log.Warn("adopt instance", "instance", c.Name, "error", err)
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if state == stateReady {
		inst.lastUsed = m.now()
		p.ready = append(p.ready, inst)
	} else {
		p.prepared = append(p.prepared, inst)
	}
	m.log.Info("adopted instance", "function", dep.FunctionName, "version", dep.Version,
		"instance", c.Name, "state", c.State)
	return p, nil
}

// adoptPool returns the deployment's pool without starting anything.
func (m *Manager) adoptPool(dep Deployment) *Pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[dep.DeploymentID]
	if !ok {
		p = newPool(m, dep)
		m.pools[dep.DeploymentID] = p
	}
	return p
}

func listening(ctx context.Context, ep runtime.Endpoint) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := runtime.Dial(ctx, ep)
	if err != nil {
		return false
	}
	_ = conn.Close() // the dial was the test
	return true
}

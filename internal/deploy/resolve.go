package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/gateway"
	"github.com/containerpub/containerpub/internal/pool"
	"github.com/containerpub/containerpub/internal/store"
)

var _ gateway.Resolver = (*Service)(nil)

// Resolve finds the active version of the function called name and its
// pool. Answers, "not found" included, are cached for Options.ResolveTTL,
// so the database is asked at most once a second per name however many
// calls arrive.
func (s *Service) Resolve(ctx context.Context, name string) (*gateway.Target, error) {
	now := s.now()
	s.mu.Lock()
	r, ok := s.cache[name]
	s.mu.Unlock()
	if ok && now.Before(r.expires) {
		return r.target, r.err
	}
	t, err := s.lookup(ctx, name)
	if err != nil && !errors.Is(err, gateway.ErrNotFound) {
		return nil, err // not cached: the store may answer next time
	}
	s.mu.Lock()
	if len(s.cache) > 100000 {
		clear(s.cache)
	}
	s.cache[name] = resolved{target: t, err: err, expires: now.Add(s.opts.ResolveTTL)}
	s.mu.Unlock()
	return t, err
}

func (s *Service) lookup(ctx context.Context, name string) (*gateway.Target, error) {
	fn, err := s.st.FunctionByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", gateway.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("look up function %s: %w", name, err)
	}
	if fn.Status != client.FunctionActive || fn.ActiveDeploymentID == "" {
		return nil, fmt.Errorf("%w: %s has no active version", gateway.ErrNotFound, name)
	}
	d, err := s.st.DeploymentByID(ctx, fn.ActiveDeploymentID)
	if err != nil {
		return nil, fmt.Errorf("look up active deployment of %s: %w", name, err)
	}
	pd, err := poolDeployment(fn, d)
	if err != nil {
		return nil, err
	}
	// Activate, not just Pool: another backend may have switched the
	// version, and this backend's pools of older versions must drain.
	p := s.pools.Activate(pd)
	return &gateway.Target{FunctionID: fn.ID, Name: fn.Name, OwnerID: fn.OwnerID, Pool: p}, nil
}

// forget drops a name from the cache after a local change.
func (s *Service) forget(name string) {
	s.mu.Lock()
	delete(s.cache, name)
	s.mu.Unlock()
}

// Adopt takes back the instances a previous run of this backend left, and
// prepares pools for every active function so the first calls after a
// restart start fast.
func (s *Service) Adopt(ctx context.Context) error {
	adopted, removed, err := s.pools.Adopt(ctx, s.adoptLookup)
	if err != nil {
		return err
	}
	if adopted+removed > 0 {
		s.log.Info("instances of a previous run", "adopted", adopted, "removed", removed)
	}
	fns, err := s.st.ListAllFunctions(ctx)
	if err != nil {
		return fmt.Errorf("list functions: %w", err)
	}
	for _, fn := range fns {
		if fn.Status == client.FunctionActive {
			if _, err := s.Resolve(ctx, fn.Name); err != nil {
				s.log.Warn("prepare function", "function", fn.Name, "error", err)
			}
		}
	}
	return nil
}

func (s *Service) adoptLookup(ctx context.Context, deploymentID string) (pool.Deployment, bool, error) {
	d, err := s.st.DeploymentByID(ctx, deploymentID)
	if errors.Is(err, store.ErrNotFound) {
		return pool.Deployment{}, false, nil
	}
	if err != nil {
		return pool.Deployment{}, false, err
	}
	fn, err := s.st.FunctionByID(ctx, d.FunctionID)
	if errors.Is(err, store.ErrNotFound) {
		return pool.Deployment{}, false, nil
	}
	if err != nil {
		return pool.Deployment{}, false, err
	}
	if fn.ActiveDeploymentID != d.ID || fn.Status != client.FunctionActive {
		return pool.Deployment{}, false, nil
	}
	pd, err := poolDeployment(fn, d)
	return pd, err == nil, err
}

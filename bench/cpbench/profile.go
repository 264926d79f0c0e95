package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerpub/containerpub/bench/load"
)

// profile takes a CPU profile of the backend under warm load through the
// backend at each concurrency, when asked to. It runs after the measured
// runs, so that the profiler's own cost is in none of them.
func (b *bench) profile(ctx context.Context) error {
	if b.cfg.ProfileDir == "" {
		return nil
	}
	if err := os.MkdirAll(b.cfg.ProfileDir, 0o750); err != nil {
		return fmt.Errorf("make profile dir: %w", err)
	}
	target := load.Target{URL: b.be.URL + "/f/" + fnWarm + "/", WantBody: okBody}
	secs := max(1, int(b.cfg.WarmDuration.Seconds()))
	for _, c := range warmConcurrency {
		path := filepath.Join(b.cfg.ProfileDir, fmt.Sprintf("backend-c%d.pprof", c))
		if err := b.profileUnderLoad(ctx, target, c, secs, path); err != nil {
			return err
		}
		b.rep.Profiles = append(b.rep.Profiles, path)
		b.log.Info("profile written", "concurrency", c, "path", path)
	}
	return nil
}

// profileUnderLoad loads the backend with c workers while the profiler
// samples it for secs seconds, and writes the profile to path.
func (b *bench) profileUnderLoad(ctx context.Context, target load.Target, c, secs int, path string) error {
	var wg sync.WaitGroup
	var loadErr error
	wg.Go(func() {
		// The load outlasts the profile by a second at each end.
		_, loadErr = load.Run(ctx, target, load.Config{
			Workers: c, Warmup: time.Second, Duration: time.Duration(secs+1) * time.Second,
		})
	})
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	err := b.fetchProfile(ctx, fmt.Sprintf("profile?seconds=%d", secs), path)
	wg.Wait()
	if err != nil {
		return err
	}
	return loadErr
}

// heapProfile writes the backend's heap profile to the profile dir, when
// profiling.
func (b *bench) heapProfile(ctx context.Context, name string) error {
	if b.cfg.ProfileDir == "" {
		return nil
	}
	if err := os.MkdirAll(b.cfg.ProfileDir, 0o750); err != nil {
		return fmt.Errorf("make profile dir: %w", err)
	}
	path := filepath.Join(b.cfg.ProfileDir, name)
	if err := b.fetchProfile(ctx, "heap", path); err != nil {
		return err
	}
	b.rep.Profiles = append(b.rep.Profiles, path)
	return nil
}

// fetchProfile saves the backend's /debug/pprof/<which> to path.
func (b *bench) fetchProfile(ctx context.Context, which, path string) error {
	u := fmt.Sprintf("http://%s/debug/pprof/%s", b.debugAddr, which)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read whole or given up on below
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch profile: status %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		return errors.Join(fmt.Errorf("write profile: %w", err), f.Close())
	}
	return f.Close()
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	rt "runtime"
	"time"

	"github.com/containerpub/containerpub/client"
)

// deployTimeout bounds one deploy. The first build on a fresh machine
// also makes the Go builder image, which takes about a minute.
const deployTimeout = 5 * time.Minute

// benchDeploy times deploys of examples/hello after a warm-up deploy that
// fills the account's build cache, then deploys the benchmark functions.
func (b *bench) benchDeploy(ctx context.Context) error {
	hello := filepath.Join(b.cfg.Repo, "examples", "hello")
	warmup, err := b.deploy(ctx, hello, fnHello)
	if err != nil {
		return fmt.Errorf("warm-up deploy: %w", err)
	}
	b.rep.Deploy.Warmup = warmup
	for i := range b.cfg.DeployRuns {
		d, err := b.deploy(ctx, hello, fnHello)
		if err != nil {
			return err
		}
		b.log.Info("deployed", "function", fnHello, "run", i+1, "duration", d.Round(time.Millisecond))
		b.rep.Deploy.Runs = append(b.rep.Deploy.Runs, d)
	}
	// Its instances would only add noise to what follows.
	if err := b.api.DeleteFunction(ctx, fnHello); err != nil {
		return fmt.Errorf("delete %s: %w", fnHello, err)
	}
	delete(b.fnIDs, fnHello)
	return b.deployBenchFunctions(ctx)
}

// deployBenchFunctions deploys the copies of bench/fn, each with the
// scaling its benchmark needs.
func (b *bench) deployBenchFunctions(ctx context.Context) error {
	variants := []struct {
		name   string
		adjust func(*client.FunctionConfig)
	}{
		// One instance that takes every call, so that the direct and
		// the backend runs reach the same process; the long idle timeout
		// keeps it. (min_instances 1 would start a second instance next
		// to the one the deploy starts, over max_instances.) Its CPU
		// limit is the whole machine, so that the limit does not cap the
		// direct runs.
		{fnWarm, func(c *client.FunctionConfig) {
			c.Scaling = client.Scaling{Concurrency: 64, MaxInstances: 1,
				IdleTimeout: client.Duration(30 * time.Minute)}
			c.Limits.CPUs = float64(rt.NumCPU())
		}},
		// The shortest idle timeout, so that the function is back to zero
		// soon after each call.
		{fnCold, func(c *client.FunctionConfig) {
			c.Scaling = client.Scaling{IdleTimeout: client.Duration(time.Second)}
		}},
		// Default scaling (concurrency 1, max_instances 10) but for the
		// idle timeout, for the same reason.
		{fnBurst, func(c *client.FunctionConfig) {
			c.Scaling = client.Scaling{IdleTimeout: client.Duration(time.Second)}
		}},
	}
	src := filepath.Join(b.cfg.Repo, "bench", "fn")
	for _, v := range variants {
		dir := filepath.Join(b.work, "fn", v.name)
		if err := writeVariant(src, dir, v.name, v.adjust); err != nil {
			return err
		}
		d, err := b.deploy(ctx, dir, v.name)
		if err != nil {
			return err
		}
		b.log.Info("deployed", "function", v.name, "duration", d.Round(time.Millisecond))
	}
	return nil
}

// writeVariant copies the function at src to dst with the manifest's
// name set and its settings adjusted.
func writeVariant(src, dst, name string, adjust func(*client.FunctionConfig)) (err error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return fmt.Errorf("make %s: %w", dst, err)
	}
	// Writing through a root keeps every copy inside dst.
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("open %s: %w", dst, err)
	}
	defer func() { err = errors.Join(err, root.Close()) }()
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return fmt.Errorf("read %s: %w", e.Name(), err)
		}
		if e.Name() == client.ManifestFile {
			if data, err = adjustManifest(data, name, adjust); err != nil {
				return err
			}
		}
		// Only the CLI reads the copy, and it packs a file without an
		// executable bit as 0644 whatever its mode here.
		if err := root.WriteFile(e.Name(), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", e.Name(), err)
		}
	}
	return nil
}

func adjustManifest(data []byte, name string, adjust func(*client.FunctionConfig)) ([]byte, error) {
	cfg, err := client.ParseConfig(data)
	if err != nil {
		return nil, err
	}
	cfg.Name = name
	adjust(&cfg)
	out, err := client.MarshalConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("write manifest of %s: %w", name, err)
	}
	return out, nil
}

// deploy runs `dart_cloud deploy --force dir`, timing it from start to
// exit, and checks that a new version of the function went active.
func (b *bench) deploy(ctx context.Context, dir, name string) (time.Duration, error) {
	before := 0
	if fn, err := b.api.GetFunction(ctx, name); err == nil {
		before = fn.ActiveVersion
	} else if !client.IsNotFound(err) {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, deployTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.cfg.CLI, "deploy", "--force", dir)
	cmd.Env = append(os.Environ(),
		"DART_CLOUD_URL="+b.be.URL,
		"DART_CLOUD_TOKEN="+b.token,
		"DART_CLOUD_CONFIG="+filepath.Join(b.work, "cli.json"),
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("dart_cloud deploy %s: %w\n%s", dir, err, tail(out.Bytes(), 2000))
	}
	fn, err := b.api.GetFunction(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	if fn.Status != client.FunctionActive || fn.ActiveVersion <= before {
		return 0, fmt.Errorf("deploy of %s: status %s, active version %d, want a version after %d",
			name, fn.Status, fn.ActiveVersion, before)
	}
	b.fnIDs[name] = fn.ID
	return took, nil
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[len(b)-n:]
}

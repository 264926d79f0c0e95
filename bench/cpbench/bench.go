package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/containerpub/containerpub/bench/proc"
	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/runtime/podman"
)

// The functions the benchmarks deploy, all copies of bench/fn.
const (
	fnWarm  = "bench-warm"
	fnCold  = "bench-cold"
	fnBurst = "bench-burst"
	fnHello = "hello"
)

// okBody is what bench/fn answers.
var okBody = []byte("ok")

// bench is one benchmark run: the backend under test and the clients
// that drive and observe it.
type bench struct {
	cfg    Config
	log    *slog.Logger
	work   string
	be     *backend
	api    *client.Client
	token  string
	driver *podman.Driver
	pod    *libpod
	// backendEnv is the backend's own settings.
	backendEnv []string
	// debugAddr is the backend's profiler address, when profiling.
	debugAddr string
	// wholeRun samples the backend's memory from start to end.
	wholeRun *rssSampler
	// fnIDs maps the names of the deployed functions to their ids.
	fnIDs map[string]string
	rep   *report
}

// runAll starts the backend, runs every benchmark in order and cleans
// up, returning the report.
func runAll(ctx context.Context, cfg Config, logger *slog.Logger) (rep *report, err error) {
	start := time.Now()
	rep = &report{Command: cfg.Command, Started: start.UTC(), Config: cfg}
	if rep.Machine, err = readMachine(ctx); err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, log: logger, rep: rep, fnIDs: map[string]string{}}
	if err := b.setUp(ctx); err != nil {
		return nil, errors.Join(err, b.tearDown())
	}
	defer func() { err = errors.Join(err, b.tearDown()) }()

	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"deploy", b.benchDeploy},
		{"idle memory", b.measureIdle},
		{"warm overhead", b.benchWarm},
		{"instance memory", b.measureInstances},
		{"profile", b.profile},
		{"cold start", b.benchCold},
		{"burst", b.benchBurst},
		{"final memory", b.measureEnd},
	}
	for _, s := range steps {
		b.log.Info("benchmark", "step", s.name)
		if err := s.run(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if rep.Memory.BackendRunPeak, err = b.wholeRun.stop(); err != nil {
		return nil, err
	}
	// The samplers tick apart: the warm run's may have caught a peak
	// between two ticks of this one.
	rep.Memory.BackendRunPeak = max(rep.Memory.BackendRunPeak, rep.Memory.BackendPeak)
	b.wholeRun = nil
	if rep.LoadEnd, err = proc.LoadAvg(); err != nil {
		return nil, err
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// setUp makes the work directory, starts the backend, registers a user
// and connects to the backend's Podman service.
func (b *bench) setUp(ctx context.Context) error {
	// A short path: instance sockets live below it, and a unix socket
	// path holds at most 107 bytes.
	work, err := os.MkdirTemp("", "cpbench-")
	if err != nil {
		return fmt.Errorf("make work dir: %w", err)
	}
	b.work = work
	b.log.Info("starting backend", "binary", b.cfg.Backend, "work_dir", work)
	b.backendEnv = []string{"CONTAINERPUB_LOG_LEVEL=" + b.cfg.BackendLogLevel}
	if b.cfg.ProfileDir != "" {
		if b.debugAddr, err = freeAddr(); err != nil {
			return err
		}
		b.backendEnv = append(b.backendEnv, "CONTAINERPUB_DEBUG_ADDR="+b.debugAddr)
	}
	b.be, err = startBackend(ctx, b.cfg.Backend, filepath.Join(work, "data"),
		filepath.Join(work, "backend.log"), b.backendEnv...)
	if err != nil {
		return err
	}
	b.rep.BackendPID = b.be.PID()
	b.wholeRun = sampleRSS(b.be.PID())
	b.driver, err = podman.New(b.be.PodmanSocket(), podman.Options{
		InstancesDir: filepath.Join(b.be.DataDir, "instances"),
	})
	if err != nil {
		return fmt.Errorf("connect to podman: %w", err)
	}
	b.pod = newLibpod(b.be.PodmanSocket())
	info, err := b.driver.Info(ctx)
	if err != nil {
		return err
	}
	b.rep.Machine.Podman = fmt.Sprintf("%s (%s, cgroups %s)", info.Version, info.OCIRuntime, info.CgroupVersion)
	return b.register(ctx)
}

// register makes the account the benchmarks deploy with.
func (b *bench) register(ctx context.Context) error {
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	sess, err := client.New(b.be.URL, "").Register(ctx, client.Credentials{
		Email:    "bench@example.com",
		Password: hex.EncodeToString(pw),
	})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	b.token = sess.Token
	b.api = client.New(b.be.URL, sess.Token)
	return nil
}

// tearDownTimeout bounds the removal of what the run made.
const tearDownTimeout = 2 * time.Minute

// tearDown deletes the functions, removes any container of the backend
// left behind, stops the backend and removes the work directory. It runs
// even when the run's context has ended.
func (b *bench) tearDown() error {
	if b.be == nil {
		return b.removeWork()
	}
	ctx, cancel := context.WithTimeout(context.Background(), tearDownTimeout)
	defer cancel()
	var errs []error
	if b.wholeRun != nil {
		_, _ = b.wholeRun.stop() // the run failed: its figures are moot
	}
	if !b.be.alive() {
		errs = append(errs, b.restartBackend(ctx))
	}
	if b.api != nil {
		for name := range b.fnIDs {
			if err := b.api.DeleteFunction(ctx, name); err != nil && !client.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete function %s: %w", name, err))
			}
		}
	}
	errs = append(errs, b.removeLeftovers(ctx))
	if b.pod != nil {
		b.pod.close()
	}
	if b.driver != nil {
		errs = append(errs, b.driver.Close())
	}
	errs = append(errs, b.be.stop())
	if err := errors.Join(errs...); err != nil {
		b.cfg.Keep = true
		b.log.Error("clean-up failed; keeping the work dir", "work_dir", b.work, "error", err)
		return err
	}
	return b.removeWork()
}

// restartBackend starts the backend again on the same data directory
// after it exited early (it crashed, or something on the machine stopped
// it), so that it adopts the instances it left and its functions can be
// deleted the ordinary way: with a backend stopped, containers stay.
func (b *bench) restartBackend(ctx context.Context) error {
	b.log.Warn("backend exited before the clean-up; restarting it to delete the functions",
		"log", b.be.LogPath)
	be, err := startBackend(ctx, b.cfg.Backend, b.be.DataDir,
		filepath.Join(b.work, "backend-restart.log"), b.backendEnv...)
	if err != nil {
		return fmt.Errorf("restart backend for the clean-up: %w", err)
	}
	b.be = be
	if b.api != nil {
		b.api = client.New(be.URL, b.token)
	}
	return nil
}

// removeLeftovers removes the containers of this backend that deleting
// its functions did not, so that no run leaves an orphan behind.
func (b *bench) removeLeftovers(ctx context.Context) error {
	if b.driver == nil {
		return nil
	}
	id, err := b.be.ID()
	if err != nil {
		return err
	}
	left, err := b.driver.List(ctx, map[string]string{runtime.LabelBackend: id})
	if err != nil {
		return fmt.Errorf("list leftover containers: %w", err)
	}
	var errs []error
	for _, c := range left {
		b.log.Warn("removing leftover container", "container", c.Name, "state", c.State)
		errs = append(errs, b.driver.Remove(ctx, c.ID))
	}
	return errors.Join(errs...)
}

func (b *bench) removeWork() error {
	if b.work == "" || b.cfg.Keep {
		if b.work != "" {
			b.log.Info("work dir kept", "work_dir", b.work)
		}
		return nil
	}
	if err := os.RemoveAll(b.work); err != nil {
		return fmt.Errorf("remove work dir: %w", err)
	}
	return nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Config is what a benchmark run does. The defaults keep a whole run
// under ten minutes on a two-core machine.
type Config struct {
	// Backend and CLI are the binaries under test. Defaults
	// bin/dart_cloud_backend and bin/dart_cloud.
	Backend, CLI string
	// Repo is the repository's root, where examples/hello and bench/fn
	// are. Default ".".
	Repo string
	// BackendLogLevel is the backend's log level. Default info, which
	// logs nothing per call.
	BackendLogLevel string
	// WarmRuns is the number of direct and backend runs at each warm
	// concurrency. Default 5.
	WarmRuns int
	// WarmDuration is the measured length of one warm run. Default 5s.
	WarmDuration time.Duration
	// WarmWarmup precedes each warm run, unmeasured. Default 500ms.
	WarmWarmup time.Duration
	// ColdRuns is the number of cold starts. Default 25.
	ColdRuns int
	// BurstCalls is the number of simultaneous first calls. Default 100.
	BurstCalls int
	// BurstRepeats is how many bursts are sent. Default 3.
	BurstRepeats int
	// DeployRuns is the number of timed deploys after the warm-up one.
	// Default 5.
	DeployRuns int
	// Timeout bounds the whole run. Default 20m.
	Timeout time.Duration
	// ProfileDir, when set, makes the backend serve Go's profiler and
	// receives a CPU profile of the backend under warm load at each
	// concurrency, taken after the measured runs. Default off.
	ProfileDir string
	// Keep leaves the work directory (data directory and backend log)
	// in place for inspection. Default false.
	Keep bool
	// Command is the command line, for the report.
	Command string
	// BareProxySocket, set by the hidden -bare-proxy-socket flag, makes
	// cpbench run only the bare reverse proxy of the warm benchmark to
	// this unix socket: how cpbench starts its own copy for that.
	BareProxySocket string
}

// warmConcurrency is the load of the warm overhead benchmark: one caller,
// then sixteen.
var warmConcurrency = []int{1, 16}

// parseFlags parses cpbench's command line; usage and errors go to out.
func parseFlags(args []string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("cpbench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Backend, "backend", "bin/dart_cloud_backend", "backend binary")
	fs.StringVar(&c.CLI, "cli", "bin/dart_cloud", "CLI binary")
	fs.StringVar(&c.Repo, "repo", ".", "repository root (holds examples/hello and bench/fn)")
	fs.StringVar(&c.BackendLogLevel, "backend-log-level", "info", "backend log level")
	fs.IntVar(&c.WarmRuns, "warm-runs", 5, "direct and backend runs per warm concurrency")
	fs.DurationVar(&c.WarmDuration, "warm-duration", 5*time.Second, "measured length of a warm run")
	fs.DurationVar(&c.WarmWarmup, "warm-warmup", 500*time.Millisecond, "unmeasured start of a warm run")
	fs.IntVar(&c.ColdRuns, "cold-runs", 25, "cold starts")
	fs.IntVar(&c.BurstCalls, "burst-calls", 100, "simultaneous first calls of a burst")
	fs.IntVar(&c.BurstRepeats, "burst-repeats", 3, "bursts")
	fs.IntVar(&c.DeployRuns, "deploy-runs", 5, "timed deploys after a warm-up deploy")
	fs.DurationVar(&c.Timeout, "timeout", 20*time.Minute, "limit of the whole run")
	fs.StringVar(&c.ProfileDir, "profile-dir", "", "write CPU profiles of the backend under warm load here")
	fs.BoolVar(&c.Keep, "keep", false, "keep the work directory")
	fs.StringVar(&c.BareProxySocket, bareProxyFlag, "", "internal: run only the bare proxy to this unix socket")
	fs.Usage = func() { usage(fs, out) }
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.validate()
}

// usage prints the flags of fs but the hidden one, like the flag
// package's own usage.
func usage(fs *flag.FlagSet, out io.Writer) {
	visible := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	visible.SetOutput(out)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != bareProxyFlag {
			visible.Var(f.Value, f.Name, f.Usage)
			visible.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	_, _ = fmt.Fprintf(out, "Usage of %s:\n", fs.Name()) // as flag's own usage, which ignores write errors
	visible.PrintDefaults()
}

// validate checks the counts and durations.
func (c Config) validate() error {
	var errs []error
	for _, n := range []struct {
		name string
		v    int
	}{
		{"warm-runs", c.WarmRuns}, {"cold-runs", c.ColdRuns}, {"burst-calls", c.BurstCalls},
		{"burst-repeats", c.BurstRepeats}, {"deploy-runs", c.DeployRuns},
	} {
		if n.v < 1 {
			errs = append(errs, fmt.Errorf("-%s %d: must be at least 1", n.name, n.v))
		}
	}
	if c.WarmDuration <= 0 || c.WarmWarmup < 0 || c.Timeout <= 0 {
		errs = append(errs, errors.New("-warm-duration and -timeout must be positive, -warm-warmup not negative"))
	}
	return errors.Join(errs...)
}

// Package config reads the backend's configuration from command-line
// flags and environment variables. A flag given on the command line wins
// over the environment, which wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environment variables, one per setting.
const (
	EnvAddr          = "CONTAINERPUB_ADDR"
	EnvDataDir       = "CONTAINERPUB_DATA_DIR"
	EnvDatabaseURL   = "CONTAINERPUB_DATABASE_URL"
	EnvPodmanSocket  = "CONTAINERPUB_PODMAN_SOCKET"
	EnvLogLevel      = "CONTAINERPUB_LOG_LEVEL"
	EnvLogFormat     = "CONTAINERPUB_LOG_FORMAT"
	EnvSessionTTL    = "CONTAINERPUB_SESSION_TTL"
	EnvMaxUploadMB   = "CONTAINERPUB_MAX_UPLOAD_MB"
	EnvMaxUnpackedMB = "CONTAINERPUB_MAX_UNPACKED_MB"
	EnvShutdownGrace = "CONTAINERPUB_SHUTDOWN_GRACE"
	EnvBuildWorkers  = "CONTAINERPUB_BUILD_WORKERS"
	EnvBuildTimeout  = "CONTAINERPUB_BUILD_TIMEOUT"
	EnvGoProxy       = "CONTAINERPUB_GOPROXY"
	EnvGoSumDB       = "CONTAINERPUB_GOSUMDB"
	EnvGoBuilder     = "CONTAINERPUB_GO_BUILDER_IMAGE"
	EnvGoRoot        = "CONTAINERPUB_GOROOT"
	EnvDebugAddr     = "CONTAINERPUB_DEBUG_ADDR"
	EnvPrepared      = "CONTAINERPUB_PREPARED"
	EnvStartTimeout  = "CONTAINERPUB_START_TIMEOUT"
)

// Config is the backend's configuration.
type Config struct {
	// Addr is the HTTP listen address. Default 127.0.0.1:8080.
	Addr string
	// DataDir holds the SQLite database, archives, instance sockets and,
	// when the backend starts Podman itself, its socket. Default
	// $XDG_DATA_HOME/containerpub (~/.local/share/containerpub).
	DataDir string
	// DatabaseURL picks the metadata store: postgres://... for
	// PostgreSQL, sqlite:///path or a bare path for SQLite. Default
	// sqlite in DataDir.
	DatabaseURL string
	// PodmanSocket is the path of a running Podman API socket. Empty
	// (the default) makes the backend start `podman system service`
	// itself, under DataDir.
	PodmanSocket string
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// LogFormat is text or json. Default text.
	LogFormat string
	// SessionTTL is how long a login token lasts. Default 168h.
	SessionTTL time.Duration
	// MaxUploadMB is the largest accepted archive, in MiB. Default 50.
	MaxUploadMB int
	// MaxUnpackedMB is the most an archive may expand to, in MiB.
	// Default 200.
	MaxUnpackedMB int
	// ShutdownGrace is how long a stopping backend waits for calls in
	// flight. Default 60s.
	ShutdownGrace time.Duration
	// BuildWorkers is how many builds run at once. Default 1.
	BuildWorkers int
	// BuildTimeout bounds one build. Default 15m.
	BuildTimeout time.Duration
	// GoProxy is the GOPROXY of Go builds, for functions with
	// dependencies. Default: the backend's own GOPROXY, else
	// https://proxy.golang.org,direct.
	GoProxy string
	// GoSumDB is the GOSUMDB of Go builds. Default: the backend's own
	// GOSUMDB, else Go's default (sum.golang.org).
	GoSumDB string
	// GoBuilderImage is an image with a Go toolchain for builds. Empty
	// (the default) makes one from the backend's own Go toolchain.
	GoBuilderImage string
	// GoRoot is the Go installation copied into the builder image when
	// GoBuilderImage is empty. Default: $GOROOT, else the GOROOT of the
	// go command on PATH, else /usr/local/go.
	GoRoot string
	// Prepared is how many created, not yet started containers each
	// active version keeps for fast cold starts. Default 1; 0 for none.
	Prepared int
	// StartTimeout bounds an instance's start until it listens.
	// Default 30s.
	StartTimeout time.Duration
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) on a
	// second listener, which must be a loopback address. Default off.
	DebugAddr string
}

// Parse reads the configuration from args (without the program name) and
// the environment, read through getenv. Help output goes to out.
func Parse(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	def, err := defaults(getenv)
	if err != nil {
		return Config{}, err
	}
	fs := flag.NewFlagSet("dart_cloud_backend", flag.ContinueOnError)
	fs.SetOutput(out)
	var c Config
	e := envReader{getenv: getenv}
	fs.StringVar(&c.Addr, "addr", e.str(EnvAddr, def.Addr), "HTTP listen address ($"+EnvAddr+")")
	fs.StringVar(&c.DataDir, "data-dir", e.str(EnvDataDir, def.DataDir), "data directory ($"+EnvDataDir+")")
	fs.StringVar(&c.DatabaseURL, "database-url", e.str(EnvDatabaseURL, ""),
		"postgres://... or sqlite:///path; default SQLite in the data directory ($"+EnvDatabaseURL+")")
	fs.StringVar(&c.PodmanSocket, "podman-socket", e.str(EnvPodmanSocket, ""),
		"Podman API socket; empty starts a Podman service ($"+EnvPodmanSocket+")")
	fs.StringVar(&c.LogLevel, "log-level", e.str(EnvLogLevel, "info"), "debug, info, warn or error ($"+EnvLogLevel+")")
	fs.StringVar(&c.LogFormat, "log-format", e.str(EnvLogFormat, "text"), "text or json ($"+EnvLogFormat+")")
	fs.DurationVar(&c.SessionTTL, "session-ttl", e.dur(EnvSessionTTL, 7*24*time.Hour), "login token lifetime ($"+EnvSessionTTL+")")
	fs.IntVar(&c.MaxUploadMB, "max-upload-mb", e.int(EnvMaxUploadMB, 50), "largest archive in MiB ($"+EnvMaxUploadMB+")")
	fs.IntVar(&c.MaxUnpackedMB, "max-unpacked-mb", e.int(EnvMaxUnpackedMB, 200), "largest unpacked tree in MiB ($"+EnvMaxUnpackedMB+")")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", e.dur(EnvShutdownGrace, time.Minute), "wait for calls in flight on shutdown ($"+EnvShutdownGrace+")")
	fs.IntVar(&c.BuildWorkers, "build-workers", e.int(EnvBuildWorkers, 1), "builds at once ($"+EnvBuildWorkers+")")
	fs.DurationVar(&c.BuildTimeout, "build-timeout", e.dur(EnvBuildTimeout, 15*time.Minute), "limit of one build ($"+EnvBuildTimeout+")")
	fs.StringVar(&c.GoProxy, "goproxy", e.str(EnvGoProxy, def.GoProxy), "GOPROXY for Go builds ($"+EnvGoProxy+")")
	fs.StringVar(&c.GoSumDB, "gosumdb", e.str(EnvGoSumDB, getenv("GOSUMDB")), "GOSUMDB for Go builds ($"+EnvGoSumDB+")")
	fs.StringVar(&c.GoBuilderImage, "go-builder-image", e.str(EnvGoBuilder, ""), "Go builder image; empty makes one ($"+EnvGoBuilder+")")
	fs.StringVar(&c.GoRoot, "goroot", e.str(EnvGoRoot, ""), "Go toolchain for the builder image ($"+EnvGoRoot+")")
	fs.IntVar(&c.Prepared, "prepared", e.int(EnvPrepared, 1), "prepared containers per active version ($"+EnvPrepared+")")
	fs.DurationVar(&c.StartTimeout, "start-timeout", e.dur(EnvStartTimeout, 30*time.Second), "instance start limit ($"+EnvStartTimeout+")")
	fs.StringVar(&c.DebugAddr, "debug-addr", e.str(EnvDebugAddr, ""), "loopback address for the Go profiler; empty is off ($"+EnvDebugAddr+")")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if e.err != nil {
		return Config{}, e.err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(c.DataDir, "containerpub.db")
	}
	if c.GoRoot == "" {
		c.GoRoot = findGoRoot(getenv)
	}
	return c, c.validate()
}

func defaults(getenv func(string) string) (Config, error) {
	var c Config
	c.Addr = "127.0.0.1:8080"
	base := getenv("XDG_DATA_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return c, fmt.Errorf("find a data directory: set %s: %w", EnvDataDir, err)
			}
		}
		base = filepath.Join(home, ".local", "share")
	}
	c.DataDir = filepath.Join(base, "containerpub")
	c.GoProxy = getenv("GOPROXY")
	if c.GoProxy == "" {
		c.GoProxy = "https://proxy.golang.org,direct"
	}
	return c, nil
}

// findGoRoot finds the Go installation to copy into the builder image.
// The backend's own runtime.GOROOT is no help: release builds use
// -trimpath, which empties it.
func findGoRoot(getenv func(string) string) string {
	if r := getenv("GOROOT"); r != "" {
		return r
	}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if r := strings.TrimSpace(string(out)); r != "" {
			return r
		}
	}
	return "/usr/local/go"
}

func (c Config) validate() error {
	var errs []error
	if c.MaxUploadMB < 1 {
		errs = append(errs, fmt.Errorf("max upload %d MiB: must be at least 1", c.MaxUploadMB))
	}
	if c.MaxUnpackedMB < c.MaxUploadMB {
		errs = append(errs, fmt.Errorf("max unpacked %d MiB: must be at least the max upload", c.MaxUnpackedMB))
	}
	if c.BuildWorkers < 1 {
		errs = append(errs, fmt.Errorf("build workers %d: must be at least 1", c.BuildWorkers))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	if c.DebugAddr != "" {
		host, _, err := net.SplitHostPort(c.DebugAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("debug addr %q: must be a loopback IP and port, such as 127.0.0.1:6060", c.DebugAddr))
		}
	}
	if !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("data dir %q: must be an absolute path", c.DataDir))
	}
	return errors.Join(errs...)
}

// envReader reads typed environment variables, keeping the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

func (e *envReader) int(name string, def int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: not a whole number", name, v)
	}
	return n
}

func (e *envReader) dur(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: not a duration such as 30s", name, v)
	}
	return d
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Backend start and stop bounds. A first start on a fresh machine also
// starts a Podman service; a stop waits for calls in flight and for the
// service to end.
const (
	backendReadyTimeout = 2 * time.Minute
	backendStopTimeout  = 90 * time.Second
	readyPollInterval   = 100 * time.Millisecond
)

// backend is a dart_cloud_backend process started for the benchmarks.
type backend struct {
	URL     string
	Addr    string
	DataDir string
	LogPath string
	cmd     *exec.Cmd
	done    chan error
}

// startBackend starts the backend on dataDir with SQLite and a Podman
// service of its own, and waits until it is ready. env adds settings.
func startBackend(ctx context.Context, bin, dataDir, logPath string, env ...string) (*backend, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create backend log: %w", err)
	}
	// The backend writes through a copy of its own; this one only has to go.
	defer func() { _ = logFile.Close() }()

	b := &backend{URL: "http://" + addr, Addr: addr, DataDir: dataDir, LogPath: logPath}
	b.cmd = exec.Command(bin)
	b.cmd.Env = append(withoutBackendEnv(os.Environ()),
		"CONTAINERPUB_ADDR="+addr,
		"CONTAINERPUB_DATA_DIR="+dataDir,
	)
	b.cmd.Env = append(b.cmd.Env, env...)
	b.cmd.Stdout, b.cmd.Stderr = logFile, logFile
	// Its own process group keeps a terminal's Ctrl-C, meant for
	// cpbench, from stopping the backend before cpbench has cleaned up.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start backend: %w", err)
	}
	b.done = make(chan error, 1)
	go func() { b.done <- b.cmd.Wait() }()
	if err := b.waitReady(ctx); err != nil {
		if serr := b.stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, err
	}
	return b, nil
}

// withoutBackendEnv drops the backend's settings from env, so that the
// backend under test cannot pick up another database or Podman socket
// from the caller's environment.
func withoutBackendEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CONTAINERPUB_") {
			out = append(out, kv)
		}
	}
	return out
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("free port %s: %w", addr, err)
	}
	return addr, nil
}

// waitReady polls /readyz until it answers 200, the process exits, or the
// ready timeout passes.
func (b *backend) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, backendReadyTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 5 * time.Second}
	for {
		if ok := b.ready(ctx, hc); ok {
			return nil
		}
		select {
		case err := <-b.done:
			b.done <- err
			if err == nil {
				err = errors.New("exit status 0")
			}
			return fmt.Errorf("backend exited at start (see %s): %w", b.LogPath, err)
		case <-ctx.Done():
			return fmt.Errorf("backend not ready (see %s): %w", b.LogPath, ctx.Err())
		case <-time.After(readyPollInterval):
		}
	}
}

func (b *backend) ready(ctx context.Context, hc *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close() // the status is the whole answer
	return resp.StatusCode == http.StatusOK
}

// alive reports whether the backend process still runs.
func (b *backend) alive() bool {
	select {
	case err := <-b.done:
		b.done <- err
		return false
	default:
		return true
	}
}

// PID returns the backend's process id.
func (b *backend) PID() int { return b.cmd.Process.Pid }

// PodmanSocket returns the socket of the Podman service the backend
// started under its data directory.
func (b *backend) PodmanSocket() string {
	return filepath.Join(b.DataDir, "podman", "podman.sock")
}

// ID returns the backend's id, which labels its containers.
func (b *backend) ID() (string, error) {
	id, err := os.ReadFile(filepath.Join(b.DataDir, "backend-id"))
	if err != nil {
		return "", fmt.Errorf("read backend id: %w", err)
	}
	return strings.TrimSpace(string(id)), nil
}

// stop ends the backend with SIGTERM, which also stops its Podman
// service, and kills it if it has not exited within the stop timeout.
func (b *backend) stop() error {
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop backend: %w", err)
	}
	select {
	case err := <-b.done:
		b.done <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("backend exited with %w: see %s", err, b.LogPath)
		}
		return nil
	case <-time.After(backendStopTimeout):
	}
	if err := b.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill backend: %w", err)
	}
	return fmt.Errorf("backend ignored SIGTERM for %s and was killed", backendStopTimeout)
}

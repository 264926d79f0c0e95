package podman

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Service is a Podman API service the backend started itself, or one it
// found already answering on the same socket and reuses.
type Service struct {
	socket string
	logger *slog.Logger
	// cmd is nil for a reused service, which Stop leaves running.
	cmd *exec.Cmd
	// exited closes when cmd has exited.
	exited chan struct{}
}

// Service start and stop bounds.
const (
	serviceStartTimeout = 30 * time.Second
	serviceStopTimeout  = 10 * time.Second
	servicePollInterval = 50 * time.Millisecond
)

// containersConf is the Podman configuration the service runs with. runc
// is required on hosts with cgroups in hybrid mode, where crun refuses to
// start containers. The driver reads no events, and this Podman's file
// events logger grows a file under /run without bound, so there are none.
const containersConf = `# Written by ContainerPub; rewritten at every start.
[engine]
runtime = "runc"
events_logger = "none"
`

// StartService makes sure a Podman API service answers on a socket in
// dataDir/podman: it reuses one that already does (left running by an
// earlier backend), else starts `podman system service` with a
// containers.conf of its own. Containers outlive the service: Podman's
// conmon keeps each one running on its own.
func StartService(ctx context.Context, dataDir string, logger *slog.Logger) (*Service, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, "podman"))
	if err != nil {
		return nil, fmt.Errorf("podman service dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create podman service dir: %w", err)
	}
	s := &Service{socket: filepath.Join(dir, "podman.sock"), logger: logger}
	if len(s.socket) > maxSocketPath {
		return nil, fmt.Errorf("podman socket path %s too long", s.socket)
	}
	if s.answers(ctx) {
		logger.Info("reusing podman service", "socket", s.socket)
		return s, nil
	}
	if err := s.start(dir); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		if serr := s.Stop(); serr != nil {
			logger.Warn("stop unready podman service failed", "error", serr)
		}
		return nil, err
	}
	logger.Info("podman service started", "socket", s.socket, "pid", s.cmd.Process.Pid)
	return s, nil
}

// SocketPath returns the path of the service's unix socket.
func (s *Service) SocketPath() string { return s.socket }

// answers reports whether something serves the libpod API on the socket.
func (s *Service) answers(ctx context.Context) bool {
	c := newClient(s.socket)
	defer c.close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.ping(ctx) == nil
}

// start launches the service process, its output going to a log file
// next to the socket.
func (s *Service) start(dir string) error {
	podman, err := exec.LookPath("podman")
	if err != nil {
		return fmt.Errorf("podman not installed: run scripts/setup.sh: %w", err)
	}
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(containersConf), 0o600); err != nil {
		return fmt.Errorf("write containers.conf: %w", err)
	}
	// A socket file left by a service that died would make the new one
	// fail to listen.
	if err := os.Remove(s.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale podman socket: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "podman.log"))
	if err != nil {
		return fmt.Errorf("create podman log: %w", err)
	}
	// The child holds its own descriptor of the file from Start on.
	defer func() { _ = logFile.Close() }()

	cmd := exec.Command(podman, "system", "service", "--time=0", "unix://"+s.socket)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group keeps a terminal's Ctrl-C, meant for the
	// backend, from killing the service before the backend stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start podman service: %w", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		err := cmd.Wait()
		s.logger.Info("podman service exited", "pid", cmd.Process.Pid, "error", err)
		close(s.exited)
	}()
	return nil
}

// waitReady polls the socket until the service answers, it exits, or the
// start timeout passes.
func (s *Service) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, serviceStartTimeout)
	defer cancel()
	tick := time.NewTicker(servicePollInterval)
	defer tick.Stop()
	for {
		if s.answers(ctx) {
			return nil
		}
		select {
		case <-s.exited:
			log := filepath.Join(filepath.Dir(s.socket), "podman.log")
			return fmt.Errorf("podman service exited at start: see %s", log)
		case <-ctx.Done():
			return fmt.Errorf("wait for podman service: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop ends a service this process started, with SIGTERM and after a
// grace period SIGKILL; a reused service is left running. Containers keep
// running either way.
func (s *Service) Stop() error {
	if s.cmd == nil {
		return nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop podman service: %w", err)
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(serviceStopTimeout):
	}
	s.logger.Warn("podman service ignored SIGTERM, killing it", "pid", s.cmd.Process.Pid)
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill podman service: %w", err)
	}
	<-s.exited
	return nil
}

// Package server wires the backend together from its configuration and
// runs it until its context ends, then shuts down in order: stop taking
// requests and let calls in flight finish, stop builds, leave instances
// running for the next start to adopt, and write every pending record.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/containerpub/containerpub/internal/api"
	"github.com/containerpub/containerpub/internal/auth"
	"github.com/containerpub/containerpub/internal/build"
	"github.com/containerpub/containerpub/internal/config"
	"github.com/containerpub/containerpub/internal/deploy"
	"github.com/containerpub/containerpub/internal/gateway"
	"github.com/containerpub/containerpub/internal/pool"
	"github.com/containerpub/containerpub/internal/record"
	"github.com/containerpub/containerpub/internal/runtime/podman"
	"github.com/containerpub/containerpub/internal/storage"
	"github.com/containerpub/containerpub/internal/store"
	"github.com/containerpub/containerpub/internal/store/postgres"
	"github.com/containerpub/containerpub/internal/store/sqlite"
)

// tokenCacheTTL bounds how long a revoked token may still work on another
// backend sharing the database.
const tokenCacheTTL = 5 * time.Second

// Run serves the backend until ctx ends. ready, if not nil, receives the
// listen address once the backend takes requests.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger, ready chan<- string) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	backendID, err := loadBackendID(cfg.DataDir)
	if err != nil {
		return err
	}
	logger = logger.With("backend", backendID)
	uuid.EnableRandPool()

	st, err := OpenStore(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close store", "error", err)
		}
	}()

	archives, err := storage.NewFS(filepath.Join(cfg.DataDir, "storage"))
	if err != nil {
		return err
	}

	socket := cfg.PodmanSocket
	if socket == "" {
		svc, err := podman.StartService(ctx, cfg.DataDir, logger)
		if err != nil {
			return err
		}
		defer func() {
			if err := svc.Stop(); err != nil {
				logger.Error("stop podman service", "error", err)
			}
		}()
		socket = svc.SocketPath()
	}
	driver, err := podman.New(socket, podman.Options{
		InstancesDir: filepath.Join(cfg.DataDir, "instances"),
		Logger:       logger,
	})
	if err != nil {
		return err
	}

	rec := record.New(st, logger, record.Options{})
	pools := pool.NewManager(driver, rec, pool.Config{
		BackendID:    backendID,
		StartTimeout: cfg.StartTimeout,
		Prepared:     preparedSetting(cfg.Prepared),
	}, logger)

	policy := build.DefaultPolicy()
	policy.MaxUploadBytes = int64(cfg.MaxUploadMB) << 20
	policy.MaxUnpackedBytes = int64(cfg.MaxUnpackedMB) << 20
	policy.Go.GOPROXY = cfg.GoProxy
	if cfg.GoSumDB != "" {
		policy.Go.GOSUMDB = cfg.GoSumDB
	}
	policy.Go.BuilderImage = cfg.GoBuilderImage
	policy.Go.GOROOT = cfg.GoRoot
	policy.Go.BuildTimeout = cfg.BuildTimeout
	builder := build.NewBuilder(driver, archives, policy, logger)

	deploys := deploy.New(st, archives, builder, driver, pools, logger, deploy.Options{
		BackendID:    backendID,
		Policy:       policy,
		Workers:      cfg.BuildWorkers,
		BuildTimeout: cfg.BuildTimeout,
		TempDir:      filepath.Join(cfg.DataDir, "tmp"),
	})
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "tmp"), 0o700); err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	if err := deploys.Recover(ctx); err != nil {
		return err
	}
	if err := deploys.Adopt(ctx); err != nil {
		return err
	}

	authn := auth.NewAuthenticator(st, tokenCacheTTL)
	gw := gateway.New(deploys, authn, rec, logger)
	handler := api.New(st, deploys, gw, authn, logger, api.Options{
		SessionTTL: cfg.SessionTTL,
		Ready:      map[string]api.Pinger{"database": st, "runtime": driver},
	}).Handler()

	// Background work ends before the store it writes to is closed.
	var background sync.WaitGroup
	return serve(ctx, cfg, logger, gw, handler, ready, func(bg context.Context) {
		if cfg.DebugAddr != "" {
			background.Go(func() { serveDebug(bg, cfg.DebugAddr, logger) })
		}
		background.Go(func() { pools.Run(bg) })
		background.Go(func() { deploys.Run(bg) })
		background.Go(func() { warmBuilder(bg, builder, logger) })
	}, func() {
		background.Wait()
		pools.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rec.Close(cctx); err != nil {
			logger.Error("write pending records", "error", err)
		}
	})
}

// serveDebug serves Go's profiler on a loopback address until ctx ends.
func serveDebug(ctx context.Context, addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		// ListenAndServe below returns, and says whether serving failed.
		_ = srv.Close()
	}()
	logger.Info("profiler listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("profiler", "error", err)
	}
}

// preparedSetting maps the config's "0 means none" to the pool's
// "negative means none".
func preparedSetting(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// warmBuilder makes the Go builder image in the background at start, so
// that the first deploy on a fresh machine does not wait for it as long.
func warmBuilder(ctx context.Context, b *build.Builder, logger *slog.Logger) {
	start := time.Now()
	ref, err := b.EnsureBuilderImage(ctx, discard{})
	if err != nil {
		if ctx.Err() == nil {
			logger.Error("prepare Go builder image", "error", err)
		}
		return
	}
	logger.Info("Go builder image ready", "image", ref, "duration", time.Since(start).Round(time.Millisecond))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// serve runs the HTTP server: calls to functions on the gateway's own
// path, the rest on net/http's server with h. start launches background
// work bound to the server's life, and stop runs after the last call has
// finished.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger, gw *gateway.Gateway, h http.Handler,
	ready chan<- string, start func(context.Context), stop func(),
) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler: h,
		// Only the header read is bounded here: a call's own timeout,
		// which may be long, is the gateway's to enforce.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	cs := gateway.NewConnServer(gw, srv, gateway.ConnOptions{
		IdleTimeout:   srv.IdleTimeout,
		HeaderTimeout: srv.ReadHeaderTimeout,
	})
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	start(bg)
	errc := make(chan error, 1)
	go func() { errc <- cs.Serve(ln) }()
	logger.Info("backend listening", "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-errc:
		cancel()
		stop()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for calls in flight", "grace", cfg.ShutdownGrace)
	sctx, scancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer scancel()
	err = cs.Shutdown(sctx)
	if err != nil {
		logger.Warn("calls still in flight at the end of the grace period", "error", err)
		// Cut the calls left; the listeners are closed already, the
		// only part of Close that can fail.
		_ = cs.Close()
	}
	cancel()
	stop()
	logger.Info("backend stopped")
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// OpenStore opens the metadata store a database URL names: postgres://
// or postgresql:// for PostgreSQL; sqlite:// or a plain path for SQLite.
func OpenStore(ctx context.Context, url string, logger *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url, logger)
	case strings.HasPrefix(url, "sqlite://"):
		return sqlite.Open(ctx, strings.TrimPrefix(url, "sqlite://"), logger)
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("database URL %q: want postgres://... or sqlite:///path", url)
	default:
		return sqlite.Open(ctx, url, logger)
	}
}

// lockDataDir takes the data directory for this process: two backends on
// one directory would share instance sockets and container labels.
func lockDataDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "backend.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is in use by another backend process", dir)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}

// loadBackendID returns this data directory's backend id, making one on
// first start. It names the backend's containers and build claims.
func loadBackendID(dir string) (string, error) {
	p := filepath.Join(dir, "backend-id")
	b, err := os.ReadFile(p)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read backend id: %w", err)
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	id := "b-" + hex.EncodeToString(r[:])
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write backend id: %w", err)
	}
	return id, nil
}

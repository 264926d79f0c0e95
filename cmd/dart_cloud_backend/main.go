// Command dart_cloud_backend is the ContainerPub server: the HTTP API,
// the build workers and the function gateway. Run it with -h for its
// settings; each flag has an environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/containerpub/containerpub/internal/config"
	"github.com/containerpub/containerpub/internal/server"
)

func main() {
	cfg, err := config.Parse(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dart_cloud_backend:", err)
		os.Exit(2)
	}
	logger := newLogger(cfg)
	if os.Getenv("GOGC") == "" {
		// The heap is small and steady (tens of MiB); collecting less
		// often buys back CPU on the call path.
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, cfg, logger, nil); err != nil {
		logger.Error("backend failed", "error", err)
		os.Exit(1)
	}
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

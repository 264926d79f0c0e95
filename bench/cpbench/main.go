// Command cpbench runs the benchmarks of BENCHMARKS.md on one machine in
// one run: it starts dart_cloud_backend as a process of its own on a
// fresh data directory (SQLite, its own Podman service), deploys the
// trivial function of bench/fn and examples/hello with the dart_cloud
// CLI, measures warm overhead, cold starts, bursts, deploys and memory,
// and writes a Markdown report to stdout. Progress goes to stderr.
//
// Run it through `make bench` (scripts/bench.sh), or by hand from the
// repository's root after `make build`:
//
//	go run ./bench/cpbench -backend bin/dart_cloud_backend -cli bin/dart_cloud
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpbench:", err)
		os.Exit(2)
	}
	if cfg.BareProxySocket != "" {
		if err := runBareProxy(cfg.BareProxySocket, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "cpbench:", err)
			os.Exit(1)
		}
		return
	}
	cfg.Command = strings.Join(os.Args, " ")
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, logger); err != nil {
		logger.Error("benchmark failed", "error", err)
		os.Exit(1)
	}
}

// run runs every benchmark and writes the report to out.
func run(ctx context.Context, cfg Config, out io.Writer, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rep, err := runAll(ctx, cfg, logger)
	if err != nil {
		return err
	}
	if err := rep.write(out); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

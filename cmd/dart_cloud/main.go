// Command dart_cloud is the ContainerPub command line: it logs in to a
// backend, scaffolds, deploys and calls functions, and reads their logs.
// Run dart_cloud help for the commands.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/containerpub/containerpub/cmd/dart_cloud/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	rt "runtime"
	"strings"

	"github.com/containerpub/containerpub/bench/proc"
)

// machine describes where the benchmarks ran.
type machine struct {
	CPU      string
	Cores    int
	Kernel   string
	MemoryKB int64
	Go       string
	// Podman is filled in once the backend's service answers.
	Podman string
	// Load is the load average over 1, 5 and 15 minutes at the start.
	Load [3]float64
}

// readMachine reads the machine's description and current load.
func readMachine(ctx context.Context) (machine, error) {
	m := machine{Cores: rt.NumCPU()}
	var err error
	if m.Load, err = proc.LoadAvg(); err != nil {
		return m, err
	}
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return m, fmt.Errorf("read cpu model: %w", err)
	}
	m.CPU = cpuModel(cpuinfo)
	kernel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return m, fmt.Errorf("read kernel version: %w", err)
	}
	m.Kernel = strings.TrimSpace(string(kernel))
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return m, fmt.Errorf("read memory size: %w", err)
	}
	if total, err := proc.ParseKB(meminfo, "MemTotal"); err == nil {
		m.MemoryKB = total >> 10
	}
	// The functions are built with the go on PATH, as the backend's
	// builder image is; report that one rather than cpbench's own.
	out, err := exec.CommandContext(ctx, "go", "version").Output()
	if err != nil {
		m.Go = rt.Version() + " (go not on PATH)"
	} else {
		m.Go = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	}
	return m, nil
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo []byte) string {
	s := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

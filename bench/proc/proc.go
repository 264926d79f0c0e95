// Package proc reads what the benchmarks measure of a process from
// Linux's /proc: CPU time, resident memory and proportional set size.
// Each reading has a parser of its own that takes the file's bytes, so
// that the parsing is tested without the files.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ErrFormat is returned for a /proc file that does not read as expected.
var ErrFormat = errors.New("unexpected format")

// tick is one clock tick of /proc/<pid>/stat. The kernel reports CPU
// times in USER_HZ, which is 100 on every architecture Go supports on
// Linux whatever the kernel's own HZ, so no sysconf call is needed.
const tick = 10 * time.Millisecond

// root is where proc is mounted.
const root = "/proc"

func read(pid int, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), name))
	if err != nil {
		return nil, fmt.Errorf("read %s of process %d: %w", name, pid, err)
	}
	return b, nil
}

// CPUTime returns the CPU time process pid has used so far, in user and
// kernel mode, in steps of 10 ms. Its threads are included; its children
// are not.
func CPUTime(pid int) (time.Duration, error) {
	b, err := read(pid, "stat")
	if err != nil {
		return 0, err
	}
	return ParseStatCPU(b)
}

// RSS returns process pid's resident set size in bytes (VmRSS).
func RSS(pid int) (int64, error) {
	b, err := read(pid, "status")
	if err != nil {
		return 0, err
	}
	return ParseKB(b, "VmRSS")
}

// PSS returns process pid's proportional set size in bytes: its private
// memory plus its share of the pages it shares with others. Summed over
// processes it does not count a shared page twice, which makes it the
// fair measure of what one more process costs.
func PSS(pid int) (int64, error) {
	b, err := read(pid, "smaps_rollup")
	if err != nil {
		return 0, err
	}
	return ParseKB(b, "Pss")
}

// ParseStatCPU reads utime plus stime from the contents of
// /proc/<pid>/stat.
func ParseStatCPU(b []byte) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may itself hold
	// spaces and parentheses: the fields that follow start after the last
	// closing one.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name: %w", ErrFormat)
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("stat: %d fields after the name: %w", len(fields), ErrFormat)
	}
	var total uint64
	for _, f := range [][]byte{fields[utime], fields[stime]} {
		n, err := strconv.ParseUint(string(f), 10, 63)
		if err != nil {
			return 0, fmt.Errorf("stat: cpu time %q: %w", f, ErrFormat)
		}
		total += n
	}
	if total > uint64(1<<63-1)/uint64(tick) {
		return 0, fmt.Errorf("stat: cpu time %d ticks: %w", total, ErrFormat)
	}
	return time.Duration(total) * tick, nil
}

// ParseKB finds the line "key: <n> kB" in the contents of a /proc file
// such as status or smaps_rollup and returns n KiB in bytes.
func ParseKB(b []byte, key string) (int64, error) {
	prefix := []byte(key + ":")
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%s: %q: %w", key, bytes.TrimSpace(line), ErrFormat)
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || n < 0 || n > (1<<63-1)>>10 {
			return 0, fmt.Errorf("%s: %q: %w", key, f[0], ErrFormat)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("%s: no such line: %w", key, ErrFormat)
}

// LoadAvg returns the system's load averages over 1, 5 and 15 minutes.
func LoadAvg() ([3]float64, error) {
	b, err := os.ReadFile(filepath.Join(root, "loadavg"))
	if err != nil {
		return [3]float64{}, fmt.Errorf("read load average: %w", err)
	}
	return ParseLoadAvg(b)
}

// ParseLoadAvg reads the first three fields of /proc/loadavg.
func ParseLoadAvg(b []byte) ([3]float64, error) {
	var out [3]float64
	f := bytes.Fields(b)
	if len(f) < 3 {
		return out, fmt.Errorf("loadavg: %d fields: %w", len(f), ErrFormat)
	}
	for i := range out {
		v, err := strconv.ParseFloat(string(f[i]), 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return [3]float64{}, fmt.Errorf("loadavg: %q: %w", f[i], ErrFormat)
		}
		out[i] = v
	}
	return out, nil
}

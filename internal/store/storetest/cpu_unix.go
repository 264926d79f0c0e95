//go:build unix

package storetest

import (
	"syscall"
	"time"
)

// cpuMeter adds up the CPU time, user and system, that this process spends
// between calls to start and stop.
type cpuMeter struct {
	total time.Duration
	began time.Duration
	// failed is set once a reading failed; the total is then not reported.
	failed bool
}

func (m *cpuMeter) start() { m.began = m.now() }

func (m *cpuMeter) stop() { m.total += m.now() - m.began }

// now returns the CPU time the process has used so far.
func (m *cpuMeter) now() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		m.failed = true
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

//go:build !unix

package storetest

import "time"

// cpuMeter would add up the CPU time the process spends between calls to
// start and stop; this platform offers no reading, so none is reported.
type cpuMeter struct {
	total  time.Duration
	failed bool
}

func (m *cpuMeter) start() { m.failed = true }

func (m *cpuMeter) stop() {}

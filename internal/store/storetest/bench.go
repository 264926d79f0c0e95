package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
	"github.com/google/uuid"
)

// BenchOpener is Opener for benchmarks.
type BenchOpener func(b *testing.B) store.Store

// batchSize is the largest batch Bench measures.
const batchSize = 1000

// Batch sizes of the Varied benchmarks. The record collectors send
// whatever arrived in the last interval, typically 10 to 500 rows, so a
// store meets many distinct sizes; a store that prepares one statement per
// size would show it there.
const (
	minVaried  = 10
	maxVaried  = 500
	variedStep = 97 // prime to the span, so sizes cycle through all of it
)

// variedSize returns the size of the ith batch of a Varied benchmark.
func variedSize(i int) int {
	return minVaried + i*variedStep%(maxVaried-minVaried+1)
}

// Bench measures batch inserts of executions and log lines, reporting the
// cost of one row as ns/row: batches of batchSize rows, and Varied batches
// of the sizes the record collectors send.
func Bench(b *testing.B, open BenchOpener) {
	b.Run("InsertExecutions", func(b *testing.B) {
		benchExecutions(b, open(b), func(int) int { return batchSize })
	})
	b.Run("InsertExecutionsVaried", func(b *testing.B) {
		benchExecutions(b, open(b), variedSize)
	})
	b.Run("InsertLogLines", func(b *testing.B) {
		benchLogLines(b, open(b), func(int) int { return batchSize })
	})
	b.Run("InsertLogLinesVaried", func(b *testing.B) {
		benchLogLines(b, open(b), variedSize)
	})
}

// benchExecutions inserts batches of executions, the ith of size(i) rows.
// The records look like the gateway's: time-ordered (version 7) ids and
// start times that grow, so the indexes grow at one end as they do in
// use rather than at random places.
func benchExecutions(b *testing.B, s store.Store, size func(i int) int) {
	f := mustFunction(b, s, "bench")
	all := make([]store.Execution, batchSize)
	rows := 0
	var cpu cpuMeter
	b.ResetTimer()
	for i := range b.N {
		// New ids each time: stored ids would be skipped, not written.
		b.StopTimer()
		batch := all[:size(i)]
		for j := range batch {
			batch[j] = execution(f.ID, base.Add(time.Duration(rows+j)*time.Millisecond))
			batch[j].ID = uuid.Must(uuid.NewV7()).String()
			batch[j].Logs = fmt.Sprint("log of call ", j)
		}
		rows += len(batch)
		b.StartTimer()
		cpu.start()
		must(b, "InsertExecutions", s.InsertExecutions(context.Background(), batch))
		cpu.stop()
	}
	reportPerRow(b, rows, cpu)
}

// benchLogLines inserts batches of log lines, the ith of size(i) rows.
func benchLogLines(b *testing.B, s store.Store, size func(i int) int) {
	f := mustFunction(b, s, "bench")
	all := make([]store.LogLine, batchSize)
	for i := range all {
		all[i] = logLine(f.ID, base, fmt.Sprint("line ", i, " of some output"))
	}
	rows := 0
	var cpu cpuMeter
	b.ResetTimer()
	for i := range b.N {
		batch := all[:size(i)]
		rows += len(batch)
		cpu.start()
		must(b, "InsertLogLines", s.InsertLogLines(context.Background(), batch))
		cpu.stop()
	}
	reportPerRow(b, rows, cpu)
}

// reportPerRow reports the time per row of a benchmark that inserted rows
// in all, and the CPU time this process spent per row when the platform
// tells it. With PostgreSQL the two differ by the time spent waiting for
// the server; the CPU time is what the inserts cost the backend.
func reportPerRow(b *testing.B, rows int, cpu cpuMeter) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
	if !cpu.failed {
		b.ReportMetric(float64(cpu.total.Nanoseconds())/float64(rows), "cpu-ns/row")
	}
}

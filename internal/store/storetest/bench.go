package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/containerpub/containerpub/internal/store"
)

// BenchOpener is Opener for benchmarks.
type BenchOpener func(b *testing.B) store.Store

// batchSize is the batch the record collectors send, and what Bench
// measures.
const batchSize = 1000

// Bench measures batch inserts of executions and log lines, reporting the
// cost of one row as ns/row.
func Bench(b *testing.B, open BenchOpener) {
	b.Run("InsertExecutions", func(b *testing.B) {
		s := open(b)
		f := mustFunction(b, s, "bench")
		batch := make([]store.Execution, batchSize)
		b.ResetTimer()
		for range b.N {
			// New ids each time: stored ids would be skipped, not written.
			b.StopTimer()
			for i := range batch {
				batch[i] = execution(f.ID, base)
				batch[i].Logs = fmt.Sprint("log of call ", i)
			}
			b.StartTimer()
			must(b, "InsertExecutions", s.InsertExecutions(context.Background(), batch))
		}
		reportPerRow(b)
	})
	b.Run("InsertLogLines", func(b *testing.B) {
		s := open(b)
		f := mustFunction(b, s, "bench")
		batch := make([]store.LogLine, batchSize)
		for i := range batch {
			batch[i] = logLine(f.ID, base, fmt.Sprint("line ", i, " of some output"))
		}
		b.ResetTimer()
		for range b.N {
			must(b, "InsertLogLines", s.InsertLogLines(context.Background(), batch))
		}
		reportPerRow(b)
	})
}

func reportPerRow(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/row")
}

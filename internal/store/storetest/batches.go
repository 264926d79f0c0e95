package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

// batchSizes are sizes a store may cut a batch at or around: the chunk
// sizes of prepared statements and their sums, and larger.
var batchSizes = []int{1, 2, 3, 4, 5, 15, 16, 17, 63, 64, 65, 85, 149, 700}

// batchRowFunction returns which function row i of a test batch belongs
// to: most rows to live, some to gone, a deleted function, and some to
// none, a function that never existed.
func batchRowFunction(i int, live, gone, none string) string {
	switch {
	case i%7 == 3:
		return gone
	case i%11 == 5:
		return none
	}
	return live
}

// testBatchSizes inserts batches of many sizes, mixing rows of a live
// function with rows of a deleted and of an unknown function, and checks
// that exactly the live rows are stored, log lines in batch order.
func testBatchSizes(t *testing.T, s store.Store) {
	owner := mustUser(t, s)
	for _, n := range batchSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx := context.Background()
			live := mustFunctionOf(t, s, owner.ID, fmt.Sprint("live", n))
			gone := mustFunctionOf(t, s, owner.ID, fmt.Sprint("gone", n))
			must(t, "DeleteFunction", s.DeleteFunction(ctx, gone.ID))
			none := newID()

			var lines []store.LogLine
			var want []string
			for i := range n {
				f := batchRowFunction(i, live.ID, gone.ID, none)
				lines = append(lines, logLine(f, at(time.Duration(i)*time.Second), fmt.Sprint("line ", i)))
				if f == live.ID {
					want = append(want, lines[i].Text)
				}
			}
			must(t, "InsertLogLines", s.InsertLogLines(ctx, lines))
			got, err := s.ListLogLines(ctx, store.LogQuery{FunctionID: live.ID, Limit: 2 * n})
			must(t, "ListLogLines", err)
			texts := make([]string, len(got))
			for i, l := range got {
				texts[i] = l.Text
			}
			diff(t, "ListLogLines texts", texts, want)

			checkExecutionBatch(t, s, n, live.ID, gone.ID, none)
		})
	}
}

// checkExecutionBatch inserts n executions spread as batchRowFunction
// says, every ninth a second record with the id of the one before, and
// checks that the first record of every live id is stored.
func checkExecutionBatch(t *testing.T, s store.Store, n int, live, gone, none string) {
	t.Helper()
	ctx := context.Background()
	var es []store.Execution
	var want []string // ids, newest first as ListExecutions returns them
	for i := range n {
		e := execution(batchRowFunction(i, live, gone, none), at(time.Duration(i)*time.Second))
		if i%9 == 8 {
			// The same id again, later in the batch: skipped.
			e.ID, e.FunctionID, e.Status = es[i-1].ID, es[i-1].FunctionID, "duplicate"
		} else if e.FunctionID == live {
			want = append([]string{e.ID}, want...)
		}
		es = append(es, e)
	}
	must(t, "InsertExecutions", s.InsertExecutions(ctx, es))
	got, err := s.ListExecutions(ctx, store.ExecutionQuery{FunctionID: live, Limit: 2 * n})
	must(t, "ListExecutions", err)
	ids := make([]string, len(got))
	for i, e := range got {
		ids[i] = e.ID
		if e.Status == "duplicate" {
			t.Errorf("execution %s has the status of its duplicate", e.ID)
		}
	}
	diff(t, "ListExecutions ids", ids, want)
}

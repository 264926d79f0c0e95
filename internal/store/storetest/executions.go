package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

// execution returns a minimal execution record of a function.
func execution(functionID string, started time.Time) store.Execution {
	return store.Execution{
		ID: newID(), FunctionID: functionID, RequestID: "req", Method: "GET",
		Path: "/", StartedAt: started, Status: "success", HTTPStatus: 200,
	}
}

func testExecutions(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "exec")
	d := mustDeployment(t, s, f.ID, base)
	done := at(1500 * time.Microsecond)
	full := store.Execution{
		ID: newID(), FunctionID: f.ID, DeploymentID: d.ID, RequestID: "r-1",
		InstanceID: "i-1", Method: "POST", Path: "/f/exec/items?x=1", StartedAt: base,
		CompletedAt: &done, DurationMS: 1.5, Status: "error", HTTPStatus: 502,
		ColdStart: true, RequestBytes: 1 << 33, ResponseBytes: 12, Error: "crashed",
		Logs: "line 1\nline 2\n", Result: json.RawMessage(`{"oom": true}`),
	}
	bare := execution(f.ID, at(time.Second))

	must(t, "InsertExecutions", s.InsertExecutions(ctx, []store.Execution{full, bare}))

	tests := []struct {
		name string
		in   store.Execution
		want store.Execution
	}{
		{"all_fields", full, func() store.Execution {
			w := full
			w.StartedAt, w.CompletedAt = stored(base), storedPtr(done)
			return w
		}()},
		{"defaults", bare, func() store.Execution {
			w := bare
			w.StartedAt, w.Result = stored(bare.StartedAt), json.RawMessage(`{}`)
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ExecutionByID(ctx, tt.in.ID)
			must(t, "ExecutionByID", err)
			diff(t, "ExecutionByID", got, tt.want)
		})
	}
	_, err := s.ExecutionByID(ctx, newID())
	wantErr(t, "ExecutionByID(unknown)", err, store.ErrNotFound)
	must(t, "InsertExecutions(empty)", s.InsertExecutions(ctx, nil))
}

func testExecutionsDropped(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "kept")
	gone := mustFunction(t, s, "gone")
	must(t, "DeleteFunction", s.DeleteFunction(ctx, gone.ID))
	first := execution(f.ID, base)
	batch := []store.Execution{first, execution(gone.ID, base), execution(newID(), base)}
	must(t, "InsertExecutions", s.InsertExecutions(ctx, batch))

	// Sending a record again, as after a lost commit, stores it once and
	// keeps the first version.
	again := first
	again.Status = "changed"
	must(t, "InsertExecutions(again)", s.InsertExecutions(ctx, []store.Execution{again}))

	es, err := s.ListExecutions(ctx, store.ExecutionQuery{FunctionID: f.ID})
	must(t, "ListExecutions", err)
	if len(es) != 1 || es[0].ID != first.ID || es[0].Status != first.Status {
		t.Errorf("ListExecutions = %+v, want only %s with status %s", es, first.ID, first.Status)
	}
	for _, e := range batch[1:] {
		_, err := s.ExecutionByID(ctx, e.ID)
		wantErr(t, "ExecutionByID(of missing function)", err, store.ErrNotFound)
	}
}

func testListExecutions(t *testing.T, s store.Store) {
	ctx := context.Background()
	f, other := mustFunction(t, s, "list"), mustFunction(t, s, "other")
	var batch []store.Execution
	for i := range 120 {
		batch = append(batch, execution(f.ID, at(time.Duration(i)*time.Second)))
	}
	batch = append(batch, execution(other.ID, at(time.Hour)))
	must(t, "InsertExecutions", s.InsertExecutions(ctx, batch))

	// startedSeconds lists the seconds after base, newest first.
	startedSeconds := func(from, to int) []int {
		var out []int
		for i := from; i >= to; i-- {
			out = append(out, i)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.ExecutionQuery
		want []int
	}{
		{"default_limit", store.ExecutionQuery{}, startedSeconds(119, 20)},
		{"limit", store.ExecutionQuery{Limit: 3}, startedSeconds(119, 117)},
		{"before", store.ExecutionQuery{Before: at(10 * time.Second), Limit: 5}, startedSeconds(9, 5)},
		{"before_start", store.ExecutionQuery{Before: base}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.FunctionID = f.ID
			es, err := s.ListExecutions(ctx, tt.q)
			must(t, "ListExecutions", err)
			var got []int
			for _, e := range es {
				got = append(got, int(e.StartedAt.Sub(stored(base))/time.Second))
			}
			diff(t, "ListExecutions", got, tt.want)
		})
	}
}

func testLargeBatches(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "large")
	const n = 700 // more than one statement's worth of rows
	es := make([]store.Execution, n)
	ls := make([]store.LogLine, n)
	for i := range n {
		es[i] = execution(f.ID, at(time.Duration(i)*time.Millisecond))
		ls[i] = logLine(f.ID, base, string(rune('a'+i%26)))
	}
	must(t, "InsertExecutions", s.InsertExecutions(ctx, es))
	must(t, "InsertLogLines", s.InsertLogLines(ctx, ls))

	got, err := s.ListExecutions(ctx, store.ExecutionQuery{FunctionID: f.ID, Limit: 2 * n})
	must(t, "ListExecutions", err)
	if len(got) != n {
		t.Errorf("ListExecutions found %d, want %d", len(got), n)
	}
	lines, err := s.ListLogLines(ctx, store.LogQuery{FunctionID: f.ID, Limit: 2 * n})
	must(t, "ListLogLines", err)
	if len(lines) != n {
		t.Fatalf("ListLogLines found %d, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l.Text != ls[i].Text {
			t.Fatalf("line %d = %q, want %q: lines out of insert order", i, l.Text, ls[i].Text)
		}
	}
}

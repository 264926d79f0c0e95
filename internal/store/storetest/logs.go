package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

// logLine returns a stdout line of a function.
func logLine(functionID string, t time.Time, text string) store.LogLine {
	return store.LogLine{FunctionID: functionID, InstanceID: "i-1", Stream: "stdout", Time: t, Text: text}
}

func testLogLines(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "log")
	gone := mustFunction(t, s, "gone")
	must(t, "DeleteFunction", s.DeleteFunction(ctx, gone.ID))
	in := []store.LogLine{
		logLine(f.ID, base, "first"),
		logLine(gone.ID, base, "dropped"),
		{FunctionID: f.ID, InstanceID: "i-2", Stream: "system", Time: at(time.Second), Text: "started"},
		logLine(newID(), base, "dropped too"),
	}
	must(t, "InsertLogLines", s.InsertLogLines(ctx, in))
	must(t, "InsertLogLines(empty)", s.InsertLogLines(ctx, nil))

	got, err := s.ListLogLines(ctx, store.LogQuery{FunctionID: f.ID})
	must(t, "ListLogLines", err)
	if len(got) != 2 {
		t.Fatalf("ListLogLines = %d lines, want 2: %+v", len(got), got)
	}
	if got[0].ID <= 0 || got[1].ID <= got[0].ID {
		t.Errorf("ids %d, %d: want positive and increasing", got[0].ID, got[1].ID)
	}
	want := []store.LogLine{in[0], in[2]}
	for i := range want {
		want[i].ID, want[i].Time = got[i].ID, stored(want[i].Time)
	}
	diff(t, "ListLogLines", got, want)
}

func testListLogLines(t *testing.T, s store.Store) {
	ctx := context.Background()
	f, other := mustFunction(t, s, "log"), mustFunction(t, s, "other")
	var in []store.LogLine
	for i := range 1100 {
		in = append(in, logLine(f.ID, at(time.Duration(i)*time.Second), fmt.Sprint(i)))
		if i%100 == 0 {
			in = append(in, logLine(other.ID, base, "other"))
		}
	}
	must(t, "InsertLogLines", s.InsertLogLines(ctx, in))
	all, err := s.ListLogLines(ctx, store.LogQuery{FunctionID: f.ID, Limit: 5000})
	must(t, "ListLogLines(all)", err)
	if len(all) != 1100 {
		t.Fatalf("ListLogLines(all) = %d lines, want 1100", len(all))
	}

	tests := []struct {
		name      string
		q         store.LogQuery
		wantFirst string
		wantLen   int
	}{
		{"default_limit", store.LogQuery{}, "0", 1000},
		{"after_id", store.LogQuery{AfterID: all[9].ID, Limit: 3}, "10", 3},
		{"after_last", store.LogQuery{AfterID: all[1099].ID}, "", 0},
		{"since", store.LogQuery{Since: stored(at(1050 * time.Second))}, "1050", 50},
		{"since_between", store.LogQuery{Since: at(1050*time.Second + time.Millisecond)}, "1051", 49},
		{"after_id_and_since", store.LogQuery{AfterID: all[1060].ID, Since: at(1050 * time.Second)}, "1061", 39},
		{"tail", store.LogQuery{Tail: true, Limit: 3}, "1097", 3},
		{"tail_default_limit", store.LogQuery{Tail: true}, "100", 1000},
		{"tail_since", store.LogQuery{Tail: true, Since: stored(at(1090 * time.Second)), Limit: 50}, "1090", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.FunctionID = f.ID
			got, err := s.ListLogLines(ctx, tt.q)
			must(t, "ListLogLines", err)
			first := ""
			if len(got) > 0 {
				first = got[0].Text
			}
			diff(t, "first line and count", []any{first, len(got)}, []any{tt.wantFirst, tt.wantLen})
		})
	}
}

func testCleanText(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "clean")
	d := mustDeployment(t, s, f.ID, base)
	raw := "nul\x00 bad\xff end"
	want := store.CleanText(raw)

	must(t, "InsertLogLines", s.InsertLogLines(ctx, []store.LogLine{logLine(f.ID, base, raw)}))
	e := execution(f.ID, base)
	e.Logs, e.Error, e.Path = raw, raw, raw
	must(t, "InsertExecutions", s.InsertExecutions(ctx, []store.Execution{e}))
	must(t, "AppendBuildLog", s.AppendBuildLog(ctx, d.ID, raw))

	lines, err := s.ListLogLines(ctx, store.LogQuery{FunctionID: f.ID})
	must(t, "ListLogLines", err)
	gotE, err := s.ExecutionByID(ctx, e.ID)
	must(t, "ExecutionByID", err)
	gotD, err := s.DeploymentByID(ctx, d.ID)
	must(t, "DeploymentByID", err)
	if len(lines) != 1 {
		t.Fatalf("ListLogLines = %d lines, want 1", len(lines))
	}
	diff(t, "cleaned text",
		[]string{lines[0].Text, gotE.Logs, gotE.Error, gotE.Path, gotD.BuildLog},
		[]string{want, want, want, want, want})
}

// testLogTail follows a function's log with AfterID while several writers
// insert batches, as a follower of the log does, and checks that it sees
// every line: ids must not become visible out of order.
func testLogTail(t *testing.T, s store.Store) {
	const writers, batches, perBatch = 4, 25, 10
	ctx := context.Background()
	f := mustFunction(t, s, "tail")
	var writing atomic.Bool
	writing.Store(true)
	type result struct {
		seen map[string]bool
		err  error
	}
	res := make(chan result, 1)
	go func() {
		seen := map[string]bool{}
		var after int64
		for {
			// Read the flag first: a listing that starts after the writers
			// finished sees every line, so it may be the last.
			last := !writing.Load()
			lines, err := s.ListLogLines(ctx, store.LogQuery{FunctionID: f.ID, AfterID: after})
			if err != nil {
				res <- result{err: err}
				return
			}
			for _, l := range lines {
				seen[l.Text] = true
				after = l.ID
			}
			if last && len(lines) < 1000 {
				res <- result{seen: seen}
				return
			}
		}
	}()
	errs := parallel(writers, func(w int) error {
		for b := range batches {
			lines := make([]store.LogLine, perBatch)
			for i := range lines {
				lines[i] = logLine(f.ID, base, fmt.Sprint(w, "/", b, "/", i))
			}
			if err := s.InsertLogLines(ctx, lines); err != nil {
				return err
			}
		}
		return nil
	})
	writing.Store(false)
	for _, err := range errs {
		must(t, "InsertLogLines", err)
	}
	r := <-res
	must(t, "ListLogLines", r.err)
	if got, want := len(r.seen), writers*batches*perBatch; got != want {
		t.Errorf("follower saw %d of %d lines: ids became visible out of order", got, want)
	}
}

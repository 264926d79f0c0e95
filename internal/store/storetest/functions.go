package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

func testFunctions(t *testing.T, s store.Store) {
	ctx := context.Background()
	owner := mustUser(t, s)
	full := store.Function{
		ID: newID(), Name: "full", OwnerID: owner.ID, Status: "active",
		Metadata:  json.RawMessage(`{"team":"core","tags":["a","b"],"n":1}`),
		CreatedAt: base, UpdatedAt: at(time.Minute),
	}
	bare := store.Function{ID: newID(), Name: "bare", OwnerID: owner.ID, CreatedAt: base}

	tests := []struct {
		name string
		in   store.Function
		want store.Function
	}{
		{"all_fields", full, withStamps(full, full.CreatedAt, full.UpdatedAt)},
		{"defaults", bare, func() store.Function {
			w := withStamps(bare, bare.CreatedAt, bare.CreatedAt)
			w.Status, w.Metadata = "new", json.RawMessage(`{}`)
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, "CreateFunction", s.CreateFunction(ctx, tt.in))
			byID, err := s.FunctionByID(ctx, tt.in.ID)
			must(t, "FunctionByID", err)
			diff(t, "FunctionByID", byID, tt.want)
			byName, err := s.FunctionByName(ctx, tt.in.Name)
			must(t, "FunctionByName", err)
			diff(t, "FunctionByName", byName, tt.want)
			// Empty JSON reads back as "{}", not as nothing or null.
			if len(tt.in.Metadata) == 0 && string(byID.Metadata) != "{}" {
				t.Errorf("Metadata = %q, want {}", byID.Metadata)
			}
		})
	}
}

// withStamps returns f with the times the store hands back.
func withStamps(f store.Function, created, updated time.Time) store.Function {
	f.CreatedAt, f.UpdatedAt = stored(created), stored(updated)
	return f
}

func testFunctionErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "taken")

	tests := []struct {
		name string
		fn   store.Function
		want error
	}{
		{"same_name", store.Function{ID: newID(), Name: "taken", OwnerID: f.OwnerID}, store.ErrConflict},
		{"same_id", store.Function{ID: f.ID, Name: "other", OwnerID: f.OwnerID}, store.ErrConflict},
		{"unknown_owner", store.Function{ID: newID(), Name: "orphan", OwnerID: newID()}, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, "CreateFunction", s.CreateFunction(ctx, tt.fn), tt.want)
		})
	}

	bad := []store.Function{
		{ID: newID(), Name: strings.Repeat("n", 256), OwnerID: f.OwnerID},
		{ID: newID(), Name: "badjson", OwnerID: f.OwnerID, Metadata: json.RawMessage(`{`)},
		{ID: "F-NOT-A-UUID", Name: "badid", OwnerID: f.OwnerID},
	}
	for _, fn := range bad {
		if err := s.CreateFunction(ctx, fn); err == nil {
			t.Errorf("CreateFunction(%.20q) = nil, want an error", fn.Name)
		}
	}

	for _, id := range []string{newID(), "nope"} {
		_, err := s.FunctionByID(ctx, id)
		wantErr(t, "FunctionByID(unknown)", err, store.ErrNotFound)
	}
	_, err := s.FunctionByName(ctx, "missing")
	wantErr(t, "FunctionByName(unknown)", err, store.ErrNotFound)
}

func testListFunctionsOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	alice, bob := mustUser(t, s), mustUser(t, s)
	// Byte order, whatever the database's locale would say about case and
	// punctuation.
	for _, name := range []string{"b", "ab", "a-b", "B", "a"} {
		mustFunctionOf(t, s, alice.ID, name)
	}
	mustFunctionOf(t, s, bob.ID, "aa")

	tests := []struct {
		name  string
		list  func() ([]store.Function, error)
		names []string
	}{
		{"alice", func() ([]store.Function, error) { return s.ListFunctions(ctx, alice.ID) },
			[]string{"B", "a", "a-b", "ab", "b"}},
		{"bob", func() ([]store.Function, error) { return s.ListFunctions(ctx, bob.ID) },
			[]string{"aa"}},
		{"nobody", func() ([]store.Function, error) { return s.ListFunctions(ctx, newID()) },
			nil},
		{"all", func() ([]store.Function, error) { return s.ListAllFunctions(ctx) },
			[]string{"B", "a", "a-b", "aa", "ab", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := tt.list()
			must(t, "list", err)
			diff(t, "names", names(fs), tt.names)
		})
	}
}

func names(fs []store.Function) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func testSetFunctionStatus(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "status")
	must(t, "SetFunctionStatus", s.SetFunctionStatus(ctx, f.ID, "deleting"))
	got, err := s.FunctionByID(ctx, f.ID)
	must(t, "FunctionByID", err)
	if got.Status != "deleting" {
		t.Errorf("Status = %q, want deleting", got.Status)
	}
	if !got.UpdatedAt.After(stored(base)) {
		t.Errorf("UpdatedAt = %v, want it moved past %v", got.UpdatedAt, stored(base))
	}
	wantErr(t, "SetFunctionStatus(unknown)", s.SetFunctionStatus(ctx, newID(), "x"), store.ErrNotFound)
}

func testDeleteFunction(t *testing.T, s store.Store) {
	ctx := context.Background()
	gone, kept := mustFunction(t, s, "gone"), mustFunction(t, s, "kept")
	var deps []store.Deployment
	for _, f := range []store.Function{gone, kept} {
		d := mustDeployment(t, s, f.ID, base)
		deps = append(deps, d)
		must(t, "InsertExecutions", s.InsertExecutions(ctx, []store.Execution{execution(f.ID, base)}))
		must(t, "InsertLogLines", s.InsertLogLines(ctx, []store.LogLine{logLine(f.ID, base, "hi")}))
	}

	must(t, "DeleteFunction", s.DeleteFunction(ctx, gone.ID))

	_, err := s.FunctionByID(ctx, gone.ID)
	wantErr(t, "FunctionByID(deleted)", err, store.ErrNotFound)
	_, err = s.DeploymentByID(ctx, deps[0].ID)
	wantErr(t, "DeploymentByID(of deleted)", err, store.ErrNotFound)
	counts := func(id string) [3]int {
		ds, err := s.ListDeployments(ctx, id)
		must(t, "ListDeployments", err)
		es, err := s.ListExecutions(ctx, store.ExecutionQuery{FunctionID: id})
		must(t, "ListExecutions", err)
		ls, err := s.ListLogLines(ctx, store.LogQuery{FunctionID: id})
		must(t, "ListLogLines", err)
		return [3]int{len(ds), len(es), len(ls)}
	}
	diff(t, "deleted function's deployments, executions, log lines", counts(gone.ID), [3]int{})
	diff(t, "other function's deployments, executions, log lines", counts(kept.ID), [3]int{1, 1, 1})

	wantErr(t, "DeleteFunction(again)", s.DeleteFunction(ctx, gone.ID), store.ErrNotFound)
	// The name is free again.
	mustFunction(t, s, "gone")
}

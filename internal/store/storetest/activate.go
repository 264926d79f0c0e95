package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

func testFailDeployment(t *testing.T, s store.Store) {
	ctx := context.Background()
	tests := []struct {
		name        string
		activeFirst bool
		wantStatus  string
	}{
		{"no_active_version", false, "failed"},
		{"active_version_kept", true, "active"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFunction(t, s, "fail-"+tt.name)
			if tt.activeFirst {
				ok := mustDeployment(t, s, f.ID, base)
				must(t, "ActivateDeployment", s.ActivateDeployment(ctx, f.ID, ok.ID, base))
			}
			d := mustDeployment(t, s, f.ID, base)
			now := at(time.Minute)
			must(t, "FailDeployment", s.FailDeployment(ctx, d.ID, "build: exit 1", now))

			got, err := s.DeploymentByID(ctx, d.ID)
			must(t, "DeploymentByID", err)
			want := d
			want.Status, want.Error, want.FinishedAt = "failed", "build: exit 1", storedPtr(now)
			diff(t, "failed deployment", got, want)
			fn, err := s.FunctionByID(ctx, f.ID)
			must(t, "FunctionByID", err)
			if fn.Status != tt.wantStatus {
				t.Errorf("function status = %q, want %q", fn.Status, tt.wantStatus)
			}
		})
	}
	wantErr(t, "FailDeployment(unknown)", s.FailDeployment(ctx, newID(), "x", base), store.ErrNotFound)
}

func testActivateDeployment(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "activate")
	d1 := mustDeployment(t, s, f.ID, base)
	d2 := mustDeployment(t, s, f.ID, at(time.Second))
	t1, t2, t3 := at(time.Minute), at(2*time.Minute), at(3*time.Minute)

	must(t, "ActivateDeployment(d1)", s.ActivateDeployment(ctx, f.ID, d1.ID, t1))
	checkActive(t, s, f.ID, d1.ID, t1, map[string]string{d1.ID: "active", d2.ID: "queued"})

	must(t, "ActivateDeployment(d2)", s.ActivateDeployment(ctx, f.ID, d2.ID, t2))
	checkActive(t, s, f.ID, d2.ID, t2, map[string]string{d1.ID: "inactive", d2.ID: "active"})

	// Rolling back keeps the time the old version's build finished.
	must(t, "ActivateDeployment(d1 again)", s.ActivateDeployment(ctx, f.ID, d1.ID, t3))
	checkActive(t, s, f.ID, d1.ID, t3, map[string]string{d1.ID: "active", d2.ID: "inactive"})
	got, err := s.DeploymentByID(ctx, d1.ID)
	must(t, "DeploymentByID", err)
	diff(t, "rolled back FinishedAt", got.FinishedAt, storedPtr(t1))
}

// checkActive checks a function's active deployment, its updated_at and
// the status of each of its deployments.
func checkActive(
	t *testing.T, s store.Store, functionID, activeID string, now time.Time,
	statuses map[string]string,
) {
	t.Helper()
	ctx := context.Background()
	f, err := s.FunctionByID(ctx, functionID)
	must(t, "FunctionByID", err)
	diff(t, "function after activation",
		[]any{f.Status, f.ActiveDeploymentID, f.UpdatedAt},
		[]any{"active", activeID, stored(now)})
	got := map[string]string{}
	ds, err := s.ListDeployments(ctx, functionID)
	must(t, "ListDeployments", err)
	for _, d := range ds {
		got[d.ID] = d.Status
		if d.ID == activeID && d.FinishedAt == nil {
			t.Errorf("active deployment %s has no FinishedAt", d.ID)
		}
	}
	diff(t, "deployment statuses", got, statuses)
}

func testActivateDeploymentErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	f, g := mustFunction(t, s, "f"), mustFunction(t, s, "g")
	fd := mustDeployment(t, s, f.ID, base)
	gd := mustDeployment(t, s, g.ID, base)

	tests := []struct {
		name                     string
		functionID, deploymentID string
	}{
		{"unknown_function", newID(), fd.ID},
		{"unknown_deployment", f.ID, newID()},
		{"other_functions_deployment", f.ID, gd.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ActivateDeployment(ctx, tt.functionID, tt.deploymentID, base)
			wantErr(t, "ActivateDeployment", err, store.ErrNotFound)
		})
	}
	// A failed activation changes nothing.
	got, err := s.FunctionByID(ctx, f.ID)
	must(t, "FunctionByID", err)
	if got.ActiveDeploymentID != "" || got.Status != "new" {
		t.Errorf("function after failed activations: active %q status %q, want none and new",
			got.ActiveDeploymentID, got.Status)
	}
}

package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

func testCreateDeployment(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "deploy")
	started := at(time.Second)
	in := store.Deployment{
		ID: newID(), FunctionID: f.ID, Version: 99, Status: "building", Runtime: "go",
		SourceHash: "sha256:1", ArchiveKey: "k1", ImageRef: "localhost/img:1",
		Config: json.RawMessage(`{"memory_mb": 128, "env": {"A": "1"}}`), BuildLog: "log",
		Error: "e", ClaimedBy: "backend-1", CreatedAt: base, StartedAt: &started,
	}
	got, err := s.CreateDeployment(ctx, in)
	must(t, "CreateDeployment", err)
	want := in
	want.Version = 1 // The store numbers versions, whatever the caller says.
	want.CreatedAt, want.StartedAt = stored(base), storedPtr(started)
	diff(t, "CreateDeployment", got, want)
	byID, err := s.DeploymentByID(ctx, in.ID)
	must(t, "DeploymentByID", err)
	diff(t, "DeploymentByID", byID, want)

	// Defaults: a new id, queued, empty config "{}".
	d2, err := s.CreateDeployment(ctx, store.Deployment{FunctionID: f.ID, Runtime: "go"})
	must(t, "CreateDeployment(defaults)", err)
	if d2.ID == "" || d2.Version != 2 || d2.Status != "queued" || string(d2.Config) != "{}" {
		t.Errorf("CreateDeployment(defaults) = id %q version %d status %q config %s, "+
			"want an id, 2, queued, {}", d2.ID, d2.Version, d2.Status, d2.Config)
	}
	stored2, err := s.DeploymentByVersion(ctx, f.ID, 2)
	must(t, "DeploymentByVersion", err)
	diff(t, "DeploymentByVersion", stored2, d2)

	list, err := s.ListDeployments(ctx, f.ID)
	must(t, "ListDeployments", err)
	diff(t, "ListDeployments", list, []store.Deployment{d2, want})

	_, err = s.CreateDeployment(ctx, store.Deployment{FunctionID: newID(), Runtime: "go"})
	wantErr(t, "CreateDeployment(unknown function)", err, store.ErrNotFound)
	_, err = s.DeploymentByVersion(ctx, f.ID, 3)
	wantErr(t, "DeploymentByVersion(3)", err, store.ErrNotFound)
	_, err = s.DeploymentByID(ctx, newID())
	wantErr(t, "DeploymentByID(unknown)", err, store.ErrNotFound)
}

func testCreateDeploymentConcurrent(t *testing.T, s store.Store) {
	const n = 24
	fs := []store.Function{mustFunction(t, s, "c1"), mustFunction(t, s, "c2")}
	versions := make([]int, n)
	errs := parallel(n, func(i int) error {
		d, err := s.CreateDeployment(context.Background(),
			store.Deployment{FunctionID: fs[i%2].ID, Runtime: "go"})
		versions[i] = d.Version
		return err
	})
	for _, err := range errs {
		must(t, "CreateDeployment", err)
	}
	for k, f := range fs {
		seen := map[int]bool{}
		for i := k; i < n; i += 2 {
			seen[versions[i]] = true
		}
		for v := 1; v <= n/2; v++ {
			if !seen[v] {
				t.Errorf("function %s: no deployment got version %d; got %v", f.Name, v, seen)
			}
		}
	}
}

func testClaimDeployment(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.ClaimDeployment(ctx, "b1", base)
	wantErr(t, "ClaimDeployment(empty queue)", err, store.ErrNotFound)

	f, g := mustFunction(t, s, "f"), mustFunction(t, s, "g")
	newer := mustDeployment(t, s, f.ID, at(2*time.Second))
	older := mustDeployment(t, s, g.ID, at(time.Second))
	now := at(time.Minute)

	for _, want := range []store.Deployment{older, newer} {
		got, err := s.ClaimDeployment(ctx, "b1", now)
		must(t, "ClaimDeployment", err)
		want.Status, want.ClaimedBy, want.StartedAt = "building", "b1", storedPtr(now)
		diff(t, "ClaimDeployment", got, want)
		stored, err := s.DeploymentByID(ctx, want.ID)
		must(t, "DeploymentByID", err)
		diff(t, "claimed deployment", stored, want)
	}
	_, err = s.ClaimDeployment(ctx, "b1", now)
	wantErr(t, "ClaimDeployment(all claimed)", err, store.ErrNotFound)
}

func testClaimDeploymentConcurrent(t *testing.T, s store.Store) {
	const queued, claimers = 40, 8
	f := mustFunction(t, s, "queue")
	for i := range queued {
		mustDeployment(t, s, f.ID, at(time.Duration(i)*time.Millisecond))
	}
	claimed := make([][]string, claimers)
	errs := parallel(claimers, func(i int) error {
		for {
			d, err := s.ClaimDeployment(context.Background(), "b", base)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				return err
			}
			claimed[i] = append(claimed[i], d.ID)
		}
	})
	count := map[string]int{}
	for i, err := range errs {
		must(t, "ClaimDeployment", err)
		for _, id := range claimed[i] {
			count[id]++
		}
	}
	if len(count) != queued {
		t.Errorf("%d distinct deployments claimed, want %d", len(count), queued)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("deployment %s claimed %d times, want once", id, n)
		}
	}
}

func testRequeueDeployments(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "requeue")
	tests := []struct {
		name      string
		claimedBy string
		started   time.Time
		requeued  bool
	}{
		{"ours", "me", at(time.Hour), true},
		{"stale_other", "other", at(-time.Hour), true},
		{"fresh_other", "other", at(time.Hour), false},
	}
	ids := map[string]string{}
	for i, tt := range tests {
		mustDeployment(t, s, f.ID, at(time.Duration(i)*time.Second))
		d, err := s.ClaimDeployment(ctx, tt.claimedBy, tt.started)
		must(t, "ClaimDeployment", err)
		ids[tt.name] = d.ID
	}
	left := mustDeployment(t, s, f.ID, at(time.Minute))

	n, err := s.RequeueDeployments(ctx, "me", base)
	must(t, "RequeueDeployments", err)
	if n != 2 {
		t.Errorf("RequeueDeployments = %d, want 2", n)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := s.DeploymentByID(ctx, ids[tt.name])
			must(t, "DeploymentByID", err)
			got := [2]string{d.Status, d.ClaimedBy}
			want := [2]string{"building", tt.claimedBy}
			if tt.requeued {
				want = [2]string{"queued", ""}
			}
			diff(t, "status and claimer", got, want)
			if tt.requeued && d.StartedAt != nil {
				t.Errorf("StartedAt = %v, want nil after requeue", d.StartedAt)
			}
		})
	}
	// The requeued deployments are older than the one never claimed, so
	// they are claimed again first.
	d, err := s.ClaimDeployment(ctx, "me", base)
	must(t, "ClaimDeployment", err)
	if d.ID != ids["ours"] {
		t.Errorf("ClaimDeployment after requeue = %s, want %s (not %s)", d.ID, ids["ours"], left.ID)
	}
}

func testBuildLogAndImage(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := mustFunction(t, s, "logs")
	d := mustDeployment(t, s, f.ID, base)
	for _, part := range []string{"step 1\n", "", "step 2 ✓\n"} {
		must(t, "AppendBuildLog", s.AppendBuildLog(ctx, d.ID, part))
	}
	must(t, "SetDeploymentImage", s.SetDeploymentImage(ctx, d.ID, "localhost/fn:1"))
	got, err := s.DeploymentByID(ctx, d.ID)
	must(t, "DeploymentByID", err)
	diff(t, "build log and image", [2]string{got.BuildLog, got.ImageRef},
		[2]string{"step 1\nstep 2 ✓\n", "localhost/fn:1"})

	wantErr(t, "AppendBuildLog(unknown)", s.AppendBuildLog(ctx, newID(), "x"), store.ErrNotFound)
	wantErr(t, "SetDeploymentImage(unknown)", s.SetDeploymentImage(ctx, newID(), "x"), store.ErrNotFound)
}

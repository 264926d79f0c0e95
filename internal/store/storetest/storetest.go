// Package storetest is the conformance suite of store.Store. Every
// implementation runs it from its own tests, so that SQLite and PostgreSQL
// behave alike down to time precision, ordering and error sentinels.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
)

// Opener returns a store over an empty, migrated database of its own and
// arranges with t.Cleanup to close it. Run calls it from parallel
// subtests, so it must be safe for concurrent use.
type Opener func(t *testing.T) store.Store

// Run runs every behaviour of the suite against stores from open, each
// subtest on a fresh store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"UserErrors", testUserErrors},
		{"Tokens", testTokens},
		{"DeleteExpiredTokens", testDeleteExpiredTokens},
		{"Functions", testFunctions},
		{"FunctionErrors", testFunctionErrors},
		{"ListFunctionsOrder", testListFunctionsOrder},
		{"SetFunctionStatus", testSetFunctionStatus},
		{"DeleteFunction", testDeleteFunction},
		{"CreateDeployment", testCreateDeployment},
		{"CreateDeploymentConcurrent", testCreateDeploymentConcurrent},
		{"ClaimDeployment", testClaimDeployment},
		{"ClaimDeploymentConcurrent", testClaimDeploymentConcurrent},
		{"RequeueDeployments", testRequeueDeployments},
		{"BuildLogAndImage", testBuildLogAndImage},
		{"FailDeployment", testFailDeployment},
		{"ActivateDeployment", testActivateDeployment},
		{"ActivateDeploymentErrors", testActivateDeploymentErrors},
		{"Executions", testExecutions},
		{"ExecutionsDropped", testExecutionsDropped},
		{"ListExecutions", testListExecutions},
		{"LargeBatches", testLargeBatches},
		{"BatchSizes", testBatchSizes},
		{"LogLines", testLogLines},
		{"ListLogLines", testListLogLines},
		{"LogTail", testLogTail},
		{"CleanText", testCleanText},
		{"Settings", testSettings},
		{"SettingsConcurrent", testSettingsConcurrent},
		{"CreateUserConcurrent", testCreateUserConcurrent},
		{"WritersWithDeletes", testWritersWithDeletes},
		{"Cancelled", testCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// base is a time with nanoseconds and a zone other than UTC, to check that
// stores keep microseconds and hand times back in UTC.
var base = time.Date(2025, 6, 1, 12, 30, 45, 123456789, time.FixedZone("UTC+2", 2*3600))

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// stored returns t as a store hands it back.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// storedPtr returns a pointer to stored(t).
func storedPtr(t time.Time) *time.Time {
	st := stored(t)
	return &st
}

// cmpOpts compares JSON fields by meaning, since PostgreSQL rewrites the
// spacing of JSONB, times exactly, including their location, and empty
// slices as equal to nil.
var cmpOpts = cmp.Options{
	cmp.Transformer("json", func(m json.RawMessage) any {
		var v any
		if err := json.Unmarshal(m, &v); err != nil {
			return "invalid json: " + string(m)
		}
		return v
	}),
	cmp.Comparer(func(a, b time.Time) bool {
		return a.Equal(b) && a.Location().String() == b.Location().String()
	}),
	cmpopts.EquateEmpty(),
}

// newID returns a fresh UUID.
func newID() string { return uuid.NewString() }

// wantErr fails t unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s = %v, want %v", what, err, target)
	}
}

// must fails t now when err is not nil.
func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// mustUser stores a new user.
func mustUser(t testing.TB, s store.Store) store.User {
	t.Helper()
	id := newID()
	u := store.User{ID: id, Email: id + "@example.com", PasswordHash: "hash", CreatedAt: base}
	must(t, "CreateUser", s.CreateUser(context.Background(), u))
	return u
}

// mustFunction stores a new function owned by a new user.
func mustFunction(t testing.TB, s store.Store, name string) store.Function {
	t.Helper()
	return mustFunctionOf(t, s, mustUser(t, s).ID, name)
}

// mustFunctionOf stores a new function owned by ownerID.
func mustFunctionOf(t testing.TB, s store.Store, ownerID, name string) store.Function {
	t.Helper()
	f := store.Function{
		ID: newID(), Name: name, OwnerID: ownerID, Status: "new",
		Metadata: json.RawMessage(`{}`), CreatedAt: base, UpdatedAt: base,
	}
	must(t, "CreateFunction", s.CreateFunction(context.Background(), f))
	return f
}

// mustDeployment stores a queued deployment of a function created at
// created.
func mustDeployment(t testing.TB, s store.Store, functionID string, created time.Time) store.Deployment {
	t.Helper()
	d, err := s.CreateDeployment(context.Background(), store.Deployment{
		FunctionID: functionID, Runtime: "go", SourceHash: "sha256:abc",
		ArchiveKey: "archives/" + functionID, CreatedAt: created,
	})
	must(t, "CreateDeployment", err)
	return d
}

// diff reports a difference between got and want of what.
func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

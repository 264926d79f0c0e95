package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

// testWritersWithDeletes runs many writers of every kind against functions
// that are deleted while they write. Writes to a deleted function may fail
// with ErrNotFound or be dropped, and nothing else may go wrong: no lock
// errors, no deadlocks, no foreign key errors.
func testWritersWithDeletes(t *testing.T, s store.Store) {
	const functions, writers, rounds = 6, 12, 15
	owner := mustUser(t, s)
	var fs []store.Function
	for i := range functions {
		fs = append(fs, mustFunctionOf(t, s, owner.ID, fmt.Sprint("w", i)))
	}
	errs := parallel(writers+functions/2, func(i int) error {
		if i >= writers {
			// Deleters remove half the functions midway.
			time.Sleep(5 * time.Millisecond)
			return s.DeleteFunction(context.Background(), fs[(i-writers)*2].ID)
		}
		return writeRounds(s, fs, i, rounds)
	})
	for _, err := range errs {
		must(t, "concurrent writes", err)
	}
	for i, f := range fs {
		_, err := s.FunctionByID(context.Background(), f.ID)
		if deleted := i%2 == 0; deleted != errors.Is(err, store.ErrNotFound) {
			t.Errorf("function %d: FunctionByID = %v, want deleted %v", i, err, deleted)
		}
	}
}

// writeRounds is one writer of testWritersWithDeletes.
func writeRounds(s store.Store, fs []store.Function, w, rounds int) error {
	ctx := context.Background()
	for r := range rounds {
		f := fs[(w+r)%len(fs)]
		now := at(time.Duration(r) * time.Millisecond)
		var err error
		switch (w + r) % 4 {
		case 0:
			_, err = s.CreateDeployment(ctx, store.Deployment{FunctionID: f.ID, Runtime: "go"})
		case 1:
			err = s.InsertExecutions(ctx, []store.Execution{execution(f.ID, now), execution(f.ID, now)})
		case 2:
			err = s.InsertLogLines(ctx, []store.LogLine{logLine(f.ID, now, "a"), logLine(f.ID, now, "b")})
		case 3:
			err = activateNewest(ctx, s, f.ID, now)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("writer %d round %d: %w", w, r, err)
		}
	}
	return nil
}

// activateNewest activates a function's newest deployment, if any, and
// fails an older one.
func activateNewest(ctx context.Context, s store.Store, functionID string, now time.Time) error {
	ds, err := s.ListDeployments(ctx, functionID)
	if err != nil || len(ds) == 0 {
		return err
	}
	if err := s.ActivateDeployment(ctx, functionID, ds[0].ID, now); err != nil {
		return err
	}
	if len(ds) > 1 {
		return s.FailDeployment(ctx, ds[len(ds)-1].ID, "old", now)
	}
	return nil
}

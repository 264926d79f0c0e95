package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/containerpub/containerpub/internal/store"
)

func testSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Setting(ctx, "secret")
	wantErr(t, "Setting(unset)", err, store.ErrNotFound)

	tests := []struct {
		name, key, value, want string
	}{
		{"first", "secret", "one", "one"},
		{"second_keeps_first", "secret", "two", "one"},
		{"other_key", "other", "three", "three"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.PutSettingIfAbsent(ctx, tt.key, tt.value)
			must(t, "PutSettingIfAbsent", err)
			if got != tt.want {
				t.Errorf("PutSettingIfAbsent(%q, %q) = %q, want %q", tt.key, tt.value, got, tt.want)
			}
			got, err = s.Setting(ctx, tt.key)
			must(t, "Setting", err)
			if got != tt.want {
				t.Errorf("Setting(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func testSettingsConcurrent(t *testing.T, s store.Store) {
	const n = 24
	got := make([]string, n)
	errs := parallel(n, func(i int) error {
		v, err := s.PutSettingIfAbsent(context.Background(), "raced", fmt.Sprint("value-", i))
		got[i] = v
		return err
	})
	for _, err := range errs {
		must(t, "PutSettingIfAbsent", err)
	}
	stored, err := s.Setting(context.Background(), "raced")
	must(t, "Setting", err)
	for i, v := range got {
		if v != stored {
			t.Errorf("caller %d got %q, stored value is %q", i, v, stored)
		}
	}
}

func testCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := mustFunction(t, s, "cancelled")
	calls := map[string]func() error{
		"FunctionByID": func() error { _, err := s.FunctionByID(ctx, f.ID); return err },
		"CreateDeployment": func() error {
			_, err := s.CreateDeployment(ctx, store.Deployment{FunctionID: f.ID, Runtime: "go"})
			return err
		},
		"InsertLogLines": func() error {
			return s.InsertLogLines(ctx, []store.LogLine{logLine(f.ID, base, "x")})
		},
		"Ping": func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		wantErr(t, name+"(cancelled)", call(), context.Canceled)
	}
	// Nothing was written.
	lines, err := s.ListLogLines(context.Background(), store.LogQuery{FunctionID: f.ID})
	must(t, "ListLogLines", err)
	ds, err := s.ListDeployments(context.Background(), f.ID)
	must(t, "ListDeployments", err)
	if len(lines)+len(ds) != 0 {
		t.Errorf("cancelled calls stored %d log lines and %d deployments, want none", len(lines), len(ds))
	}
}

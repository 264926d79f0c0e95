package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/containerpub/containerpub/internal/store"
	"github.com/containerpub/containerpub/internal/store/sqlite"
	"github.com/containerpub/containerpub/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "meta.db"))
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		return open(b, filepath.Join(b.TempDir(), "meta.db"))
	})
}

// TestConcurrentOpen opens one new file from many goroutines at once, as
// backends starting together would: they must take turns migrating.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	const n = 6
	var wg sync.WaitGroup
	stores := make([]*sqlite.Store, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i] = open(t, path)
		}()
	}
	wg.Wait()
	ctx := context.Background()
	for i, s := range stores {
		if s == nil {
			t.Fatalf("store %d did not open", i)
		}
		key := fmt.Sprint("k", i)
		if _, err := s.PutSettingIfAbsent(ctx, key, "v"); err != nil {
			t.Fatalf("store %d: PutSettingIfAbsent: %v", i, err)
		}
	}
	// Every store sees what the others wrote: they share one file.
	for i := range n {
		if got, err := stores[0].Setting(ctx, fmt.Sprint("k", i)); err != nil || got != "v" {
			t.Errorf("Setting(k%d) = %q, %v; want v", i, got, err)
		}
	}
}

// TestReopen checks that migrations run once and data survives a restart.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.PutSettingIfAbsent(ctx, "k", "v"); err != nil {
		t.Fatalf("PutSettingIfAbsent: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, err := open(t, path).Setting(ctx, "k")
	if err != nil || got != "v" {
		t.Errorf("Setting(k) after reopen = %q, %v; want v", got, err)
	}
}

func TestOpenRefusesNonFiles(t *testing.T) {
	tests := []struct {
		name, path string
	}{
		{"empty", ""},
		{"memory", ":memory:"},
		{"uri", "file:meta.db?mode=memory"},
		{"query", filepath.Join(t.TempDir(), "meta.db?_pragma=x")},
		{"missing_dir", filepath.Join(t.TempDir(), "no", "such", "meta.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), tt.path, slog.New(slog.DiscardHandler))
			if err == nil {
				s.Close()
				t.Errorf("Open(%q) = nil error, want one", tt.path)
			}
		})
	}
}

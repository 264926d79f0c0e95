package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
	"github.com/containerpub/containerpub/internal/store/postgres"
	"github.com/containerpub/containerpub/internal/store/storetest"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// Environment variables the tests read.
const (
	// envURL names a database whose role may create databases; each test
	// makes a database of its own beside it and drops it afterwards.
	envURL = "CONTAINERPUB_TEST_POSTGRES_URL"
	// envRequire, set to 1 in CI, turns a missing database from a skip
	// into a failure.
	envRequire = "CONTAINERPUB_REQUIRE_SERVICES"
)

// adminURL returns the URL tests create their databases from, or skips.
func adminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u != "" {
		return u
	}
	msg := "!!! PostgreSQL store tests NOT RUN: set " + envURL +
		" (scripts/postgres.sh prints a URL) to run them"
	if os.Getenv(envRequire) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var (
	dbSeq atomic.Int64
	// createMu serialises CREATE DATABASE among parallel tests: it copies
	// template1, and a copy refuses to start while template1 is in use.
	createMu sync.Mutex
)

// freshDatabase creates an empty database, drops it at cleanup, and
// returns its URL.
func freshDatabase(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open %s: %v", envURL, err)
	}
	t.Cleanup(func() { db.Close() })
	name := fmt.Sprintf("cpub_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, dbSeq.Add(1))
	ctx := context.Background()
	createMu.Lock()
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+name)
	createMu.Unlock()
	if err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	// Cleanups run last first, so the stores on this database are closed
	// by the time it is dropped. WITH (FORCE) is not used: it would also
	// have to stop autovacuum workers, which this role may not signal;
	// a plain DROP waits for them to leave by themselves.
	t.Cleanup(func() {
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", envURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func open(t testing.TB, dbURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dbURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	adminURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, freshDatabase(t))
	})
}

func BenchmarkStore(b *testing.B) {
	adminURL(b)
	storetest.Bench(b, func(b *testing.B) store.Store {
		return open(b, freshDatabase(b))
	})
}

// TestConcurrentOpen starts several stores on one new database at once,
// as backends starting together would: the migration lock must make them
// take turns, and all must end up on one schema.
func TestConcurrentOpen(t *testing.T) {
	dbURL := freshDatabase(t)
	const n = 6
	stores := make([]*postgres.Store, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i] = open(t, dbURL)
		}()
	}
	wg.Wait()
	ctx := context.Background()
	for i, s := range stores {
		if s == nil {
			t.Fatalf("store %d did not open", i)
		}
		if _, err := s.PutSettingIfAbsent(ctx, fmt.Sprint("k", i), "v"); err != nil {
			t.Fatalf("store %d: PutSettingIfAbsent: %v", i, err)
		}
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	var applied int
	err = db.QueryRowContext(ctx,
		`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied)
	if err != nil || applied != 1 {
		t.Errorf("applied migrations = %d, %v; want 1, each applied once", applied, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, url string
	}{
		{"unparsable", "postgres://user:secret@host:notaport/db"},
		{"nothing_listening", "postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := postgres.Open(ctx, tt.url, slog.New(slog.DiscardHandler))
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) = nil error, want one", tt.url)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("Open error %q shows the password", err)
			}
		})
	}
}

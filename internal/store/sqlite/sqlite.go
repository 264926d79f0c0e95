// Package sqlite is the metadata store on an embedded SQLite database,
// ContainerPub's zero-setup default. It uses modernc.org/sqlite, which
// needs no cgo.
//
// One connection writes and a pool of connections reads. SQLite lets a
// single writer in at a time anyway; queueing writers in Go rather than in
// SQLite's busy handler means many goroutines writing at once wait their
// turn instead of failing with "database is locked", and every transaction
// begins IMMEDIATE so that it never has to upgrade a read lock midway.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/containerpub/containerpub/internal/store"
	"github.com/containerpub/containerpub/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeoutMS is how long a connection waits for a lock held by another
// process using the same file before giving up, in milliseconds.
const busyTimeoutMS = 10000

// Store is the SQLite metadata store.
type Store struct {
	*sqlstore.Store
}

var _ store.Store = (*Store)(nil)

// Open opens, creating it if needed, the SQLite database in the file at
// path, and migrates it to the current schema. The directory must exist.
// A path naming no file, such as ":memory:", is refused: each connection
// of the pool would get a database of its own.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, ":") ||
		strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite: path %q must name a file", path)
	}
	write, err := openWriter(ctx, path, logger)
	if err != nil {
		return nil, err
	}
	read, err := openPool(ctx, path, "&_query_only=1", max(4, runtime.NumCPU()))
	if err != nil {
		return nil, errors.Join(err, write.Close())
	}
	s := sqlstore.New(sqlstore.Config{
		Dialect: Dialect, Write: write, Read: read, Logger: logger,
	})
	return &Store{Store: s}, nil
}

// openPool opens a pool of up to n connections with the settings every
// connection needs plus extra, and checks that it answers.
func openPool(ctx context.Context, path, extra string, n int) (*sql.DB, error) {
	dsn := fmt.Sprintf("%s?_busy_timeout=%d&_foreign_keys=1%s", path, busyTimeoutMS, extra)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	// Keep connections for good: opening one reruns its pragmas.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite %q: %w", path, err), db.Close())
	}
	return db, nil
}

// openLockSuffix ends the name of the lock file kept beside the database
// file.
const openLockSuffix = "-migrate.lock"

// openWriter opens the pool of the one write connection and migrates the
// schema, holding the lock file beside the database meanwhile: switching
// a new file to WAL and migrating it are done by one process at a time,
// as SQLite answers a second one busy at once, without waiting.
func openWriter(ctx context.Context, path string, logger *slog.Logger) (*sql.DB, error) {
	unlock, err := lockFile(ctx, path+openLockSuffix)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	defer unlock()
	write, err := openPool(ctx, path, "&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate", 1)
	if err != nil {
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, write, goose.DialectSQLite3, migrations, "sqlite", logger); err != nil {
		return nil, errors.Join(err, write.Close())
	}
	return write, nil
}

// Dialect is SQLite's sqlstore.Dialect.
var Dialect = sqlstore.Dialect{
	Name:                  "sqlite",
	BatchParam:            func(int) string { return "?" },
	Cast:                  func(string) string { return "" },
	Time:                  func(t time.Time) any { return sqlstore.TimeText(t) },
	IsUniqueViolation:     hasCode(sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY),
	IsForeignKeyViolation: hasCode(sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY),
	// Writers queue in Go for the one write connection, so SQLite reports
	// busy only when another process held the file past the busy timeout;
	// trying again then is what that process would want.
	IsRetryable: hasCode(sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_SNAPSHOT),
}

// hasCode returns a test for SQLite errors with one of the extended
// result codes.
func hasCode(codes ...int) func(error) bool {
	return func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		for _, c := range codes {
			if e.Code() == c {
				return true
			}
		}
		return false
	}
}

// Package postgres is the metadata store on PostgreSQL, for installations
// that run several backends against one database. It talks to the server
// through pgx behind database/sql.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/containerpub/containerpub/internal/store"
	"github.com/containerpub/containerpub/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID names the advisory lock held while migrating. Any
// constant works as long as nothing else in the database uses it; this one
// spells "cpubmigr" in ASCII.
const migrationLockID int64 = 0x637075626d696772

// logOrderLockID names the advisory lock that makes log line inserts
// commit in id order ("cpublogs" in ASCII).
const logOrderLockID int64 = 0x637075626c6f6773

// maxConns caps the connections one backend opens.
const maxConns = 16

// Store is the PostgreSQL metadata store.
type Store struct {
	*sqlstore.Store
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url, a libpq URL or key=value string
// such as postgres://user:pass@host:5432/db?sslmode=disable, and migrates
// it to the current schema. Several backends may open one database at
// once: they take turns migrating under an advisory lock.
func Open(ctx context.Context, url string, logger *slog.Logger) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// The error names the URL, password included, so it is not wrapped.
		return nil, errors.New("open postgres: cannot parse database url")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open postgres: %w", err), db.Close())
	}
	if err := migrate(ctx, db, logger); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	s := sqlstore.New(sqlstore.Config{Dialect: Dialect, Write: db, Logger: logger})
	return &Store{Store: s}, nil
}

// migrate brings the schema up to date while holding the migration lock.
func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	return sqlstore.Migrate(ctx, db, goose.DialectPostgres, migrations, "postgres", logger,
		goose.WithSessionLocker(advisoryLocker{}))
}

// advisoryLocker serialises migrations with a session advisory lock.
// goose's own Postgres locker polls every few seconds; this one blocks in
// pg_advisory_lock, so a backend waiting for another's migration goes on
// the moment it ends, and gives up when ctx is cancelled.
type advisoryLocker struct{}

// SessionLock waits for the migration lock on conn.
func (advisoryLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return nil
}

// SessionUnlock releases the migration lock on conn.
func (advisoryLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, migrationLockID); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	return nil
}

// SQLSTATE codes the store tells apart.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// Dialect is PostgreSQL's sqlstore.Dialect.
var Dialect = sqlstore.Dialect{
	Name:                  "postgres",
	LockRow:               " FOR UPDATE",
	SkipLocked:            " FOR UPDATE SKIP LOCKED",
	OrderLock:             "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(logOrderLockID, 10) + ")",
	ArrayBatches:          true,
	BatchParam:            func(n int) string { return "$" + strconv.Itoa(n) },
	Cast:                  func(t string) string { return "::" + t },
	Time:                  func(t time.Time) any { return t },
	IsUniqueViolation:     hasCode(codeUniqueViolation),
	IsForeignKeyViolation: hasCode(codeForeignKeyViolation),
	IsRetryable:           hasCode(codeSerializationFailure, codeDeadlockDetected),
}

// hasCode returns a test for server errors with one of the SQLSTATEs.
func hasCode(codes ...string) func(error) bool {
	return func(err error) bool {
		var e *pgconn.PgError
		if !errors.As(err, &e) {
			return false
		}
		for _, c := range codes {
			if e.Code == c {
				return true
			}
		}
		return false
	}
}

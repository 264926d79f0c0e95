// Package sqlstore implements store.Store over database/sql. The SQL is
// written once for PostgreSQL and SQLite; a Dialect carries the few places
// where they differ, and the packages internal/store/postgres and
// internal/store/sqlite open a database and run its migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/containerpub/containerpub/internal/store"
	"github.com/google/uuid"
)

var _ store.Store = (*Store)(nil)

// maxTxAttempts bounds how often a transaction is run again after a
// retryable failure such as a deadlock.
const maxTxAttempts = 5

// emptyJSON is what an empty JSON column holds.
const emptyJSON = "{}"

// Config configures a Store.
type Config struct {
	// Dialect says how the database differs from the others.
	Dialect Dialect
	// Write runs every statement that changes data and every transaction.
	Write *sql.DB
	// Read runs statements that only read. Nil means Write. SQLite uses a
	// pool of readers here beside a single writer connection.
	Read *sql.DB
	// Logger receives warnings about retried transactions.
	Logger *slog.Logger
	// Now returns the current time for the columns a method sets without
	// being given a time. Nil means time.Now.
	Now func() time.Time
}

// Store is a store.Store over one SQL database. It is safe for concurrent
// use.
type Store struct {
	d      Dialect
	write  *sql.DB
	read   *sql.DB
	logger *slog.Logger
	now    func() time.Time

	// stmtMu guards stmts.
	stmtMu sync.Mutex
	// stmts holds statements prepared on the writer, by their text.
	stmts map[string]*sql.Stmt
}

// New returns a Store over the databases in c. The schema must already be
// migrated.
func New(c Config) *Store {
	s := &Store{d: c.Dialect, write: c.Write, read: c.Read, logger: c.Logger, now: c.Now}
	if s.read == nil {
		s.read = s.write
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Ping checks that the database answers on both pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.Name, err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s readers: %w", s.d.Name, err)
	}
	return nil
}

// Close closes the prepared statements and both pools.
func (s *Store) Close() error {
	var err error
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		err = errors.Join(err, st.Close())
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	err = errors.Join(err, s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner interface {
	Scan(dest ...any) error
}

// inTx runs fn in a transaction on the writer, and runs it again when it
// fails in a way the dialect calls retryable.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	return s.retryTx(ctx, op, s.d.IsRetryable, fn)
}

// retryTx is inTx with its own test of which failures to retry.
func (s *Store) retryTx(
	ctx context.Context, op string, retryable func(error) bool, fn func(tx *sql.Tx) error,
) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == maxTxAttempts || !retryable(err) {
			return err
		}
		s.logger.Warn("retrying transaction", "op", op, "attempt", attempt, "error", err)
		// Jitter keeps two transactions that deadlocked from meeting again.
		//nolint:gosec // G404: jitter needs no unpredictability.
		pause := time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		// The error that made fn stop matters more than a failed rollback.
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// writeErr wraps err from a statement that inserts or changes rows,
// turning constraint violations into the store's sentinels: a broken
// unique rule into ErrConflict, a missing parent row into ErrNotFound.
func (s *Store) writeErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case s.d.IsUniqueViolation(err):
		return fmt.Errorf("%s: %w: %w", op, store.ErrConflict, err)
	case s.d.IsForeignKeyViolation(err):
		return fmt.Errorf("%s: %w: %w", op, store.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// readErr wraps err from a statement that reads one row.
func readErr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// mustAffect turns an update or delete that matched no row into
// ErrNotFound.
func mustAffect(op string, res sql.Result, err error) error {
	n, err := affected(op, res, err)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return nil
}

// affected returns how many rows a statement changed.
func affected(op string, res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return n, nil
}

// errBadID is returned when an id to be stored is not a UUID.
var errBadID = errors.New("id is not a lowercase UUID")

// ValidID reports whether id is a UUID in its canonical lowercase form.
// PostgreSQL would accept other spellings and hand back the canonical one,
// SQLite would keep them as given; allowing only one spelling keeps the
// two alike.
func ValidID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// checkIDs returns errBadID naming the first id that is not valid.
func checkIDs(ids ...string) error {
	for _, id := range ids {
		if !ValidID(id) {
			return fmt.Errorf("%w: %q", errBadID, id)
		}
	}
	return nil
}

// timeArg binds t, cut to the microseconds both databases keep.
func (s *Store) timeArg(t time.Time) any {
	return s.d.Time(t.UTC().Truncate(time.Microsecond))
}

// nullTimeArg binds a nullable time.
func (s *Store) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.timeArg(*t)
}

// nowArg binds the current time.
func (s *Store) nowArg() any {
	return s.timeArg(s.now())
}

// orNow returns t, or the current time when t is zero.
func (s *Store) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

// nullIDArg binds an optional id; "" is stored as NULL.
func nullIDArg(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// stamp returns t as the store keeps it: UTC, cut to microseconds.
func stamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// errBadJSON is returned when a JSON field does not hold valid JSON.
var errBadJSON = errors.New("invalid json")

// jsonArg binds a JSON field; empty is stored as "{}". SQLite would keep
// anything, so validity is checked here for both databases.
func jsonArg(m []byte) (string, error) {
	if len(m) == 0 {
		return emptyJSON, nil
	}
	if !json.Valid(m) {
		return "", errBadJSON
	}
	return string(m), nil
}

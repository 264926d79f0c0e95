package sqlstore

import (
	"context"
	"fmt"

	"github.com/containerpub/containerpub/internal/store"
)

const userColumns = `id, email, password_hash, created_at`

func scanUser(row rowScanner) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, timeDst{&u.CreatedAt})
	return u, err
}

// CreateUser inserts u; ErrConflict when the email is taken in any case.
// A zero CreatedAt is set to the current time.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := checkIDs(u.ID); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Email, u.PasswordHash, s.timeArg(s.orNow(u.CreatedAt)))
	return s.writeErr("create user", err)
}

// UserByEmail returns the user whose email matches, ignoring case, or
// ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	// lower() on both sides matches the unique index on lower(email).
	row := s.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1)`, email)
	u, err := scanUser(row)
	if err != nil {
		return store.User{}, readErr("user by email", err)
	}
	return u, nil
}

// UserByID returns the user or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	if !ValidID(id) {
		return store.User{}, fmt.Errorf("user by id: %w", store.ErrNotFound)
	}
	row := s.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	u, err := scanUser(row)
	if err != nil {
		return store.User{}, readErr("user by id", err)
	}
	return u, nil
}

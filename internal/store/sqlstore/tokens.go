package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

const tokenColumns = `hash, user_id, kind, created_at, expires_at` //nolint:gosec // G101: column names, no secret.

// CreateToken stores t; ErrConflict when the hash exists, ErrNotFound when
// the user does not. A zero CreatedAt is set to the current time.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if !ValidID(t.UserID) {
		return fmt.Errorf("create token: user: %w", store.ErrNotFound)
	}
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		t.Hash, t.UserID, t.Kind, s.timeArg(s.orNow(t.CreatedAt)), s.timeArg(t.ExpiresAt))
	return s.writeErr("create token", err)
}

// TokenByHash returns the token with that hash, expired or not, or
// ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	var t store.Token
	err := s.read.QueryRowContext(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash).
		Scan(&t.Hash, &t.UserID, &t.Kind, timeDst{&t.CreatedAt}, timeDst{&t.ExpiresAt})
	if err != nil {
		return store.Token{}, readErr("token by hash", err)
	}
	return t, nil
}

// DeleteToken removes a token; ErrNotFound when there was none.
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM tokens WHERE hash = $1`, hash)
	return mustAffect("delete token", res, err)
}

// DeleteExpiredTokens removes tokens that expired before now and returns
// how many.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx,
		`DELETE FROM tokens WHERE expires_at < $1`, s.timeArg(now))
	return affected("delete expired tokens", res, err)
}

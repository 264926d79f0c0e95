package sqlstore

import (
	"context"
	"fmt"
)

// Setting returns a value stored by PutSettingIfAbsent, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err != nil {
		return "", readErr("setting", err)
	}
	return v, nil
}

// PutSettingIfAbsent stores value under key unless the key exists, and
// returns the value stored.
func (s *Store) PutSettingIfAbsent(ctx context.Context, key, value string) (string, error) {
	// A caller that loses the race waits, on PostgreSQL, for the winner's
	// insert to commit, so the read that follows finds the winner's value.
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		key, value)
	if err != nil {
		return "", fmt.Errorf("put setting %q: %w", key, err)
	}
	var v string
	err = s.write.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err != nil {
		return "", readErr("put setting", err)
	}
	return v, nil
}

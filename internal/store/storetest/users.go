package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	//nolint:gosec // G101: a placeholder hash that matches no password.
	u := store.User{ID: newID(), Email: "ada@example.com", PasswordHash: "$argon2id$x", CreatedAt: base}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	want := u
	want.CreatedAt = stored(base)

	byID, err := s.UserByID(ctx, u.ID)
	must(t, "UserByID", err)
	diff(t, "UserByID", byID, want)

	tests := []struct {
		name  string
		email string
	}{
		{"exact", "ada@example.com"},
		{"upper", "ADA@Example.COM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.UserByEmail(ctx, tt.email)
			must(t, "UserByEmail", err)
			diff(t, "UserByEmail("+tt.email+")", got, want)
		})
	}
}

func testUserErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := store.User{ID: newID(), Email: "bob@example.com", PasswordHash: "h", CreatedAt: base}
	must(t, "CreateUser", s.CreateUser(ctx, u))

	dupEmail := store.User{ID: newID(), Email: "BOB@example.com", PasswordHash: "h"}
	wantErr(t, "CreateUser(same email, other case)", s.CreateUser(ctx, dupEmail), store.ErrConflict)
	dupID := store.User{ID: u.ID, Email: "other@example.com", PasswordHash: "h"}
	wantErr(t, "CreateUser(same id)", s.CreateUser(ctx, dupID), store.ErrConflict)
	if err := s.CreateUser(ctx, store.User{ID: "not-a-uuid", Email: "c@example.com"}); err == nil {
		t.Errorf("CreateUser(bad id) = nil, want an error")
	}

	_, err := s.UserByEmail(ctx, "nobody@example.com")
	wantErr(t, "UserByEmail(unknown)", err, store.ErrNotFound)
	for _, id := range []string{newID(), "not-a-uuid", ""} {
		_, err := s.UserByID(ctx, id)
		wantErr(t, "UserByID("+id+")", err, store.ErrNotFound)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mustUser(t, s)
	tok := store.Token{
		Hash: "a1b2", UserID: u.ID, Kind: store.TokenSession,
		CreatedAt: base, ExpiresAt: at(-time.Hour),
	}
	must(t, "CreateToken", s.CreateToken(ctx, tok))

	// An expired token is still returned; the caller checks ExpiresAt.
	got, err := s.TokenByHash(ctx, tok.Hash)
	must(t, "TokenByHash", err)
	want := tok
	want.CreatedAt, want.ExpiresAt = stored(tok.CreatedAt), stored(tok.ExpiresAt)
	diff(t, "TokenByHash", got, want)

	wantErr(t, "CreateToken(same hash)", s.CreateToken(ctx, tok), store.ErrConflict)
	orphan := store.Token{Hash: "c3", UserID: newID(), Kind: store.TokenSession, ExpiresAt: base}
	wantErr(t, "CreateToken(unknown user)", s.CreateToken(ctx, orphan), store.ErrNotFound)

	must(t, "DeleteToken", s.DeleteToken(ctx, tok.Hash))
	_, err = s.TokenByHash(ctx, tok.Hash)
	wantErr(t, "TokenByHash(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteToken(deleted)", s.DeleteToken(ctx, tok.Hash), store.ErrNotFound)
}

func testDeleteExpiredTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mustUser(t, s)
	expiries := map[string]time.Duration{
		"old": -time.Hour, "older": -48 * time.Hour, "now": 0, "later": time.Hour,
	}
	for hash, d := range expiries {
		tok := store.Token{Hash: hash, UserID: u.ID, Kind: store.TokenSession, ExpiresAt: at(d)}
		must(t, "CreateToken", s.CreateToken(ctx, tok))
	}

	n, err := s.DeleteExpiredTokens(ctx, stored(base))
	must(t, "DeleteExpiredTokens", err)
	if n != 2 {
		t.Errorf("DeleteExpiredTokens = %d, want 2", n)
	}
	for hash, d := range expiries {
		_, err := s.TokenByHash(ctx, hash)
		switch {
		case d < 0 && err == nil:
			t.Errorf("TokenByHash(%q) found a token that expired before now", hash)
		case d >= 0 && err != nil:
			t.Errorf("TokenByHash(%q) = %v, want the token expiring at or after now", hash, err)
		}
	}
}

func testCreateUserConcurrent(t *testing.T, s store.Store) {
	const n = 16
	errs := parallel(n, func(int) error {
		u := store.User{ID: newID(), Email: "race@example.com", PasswordHash: "h"}
		return s.CreateUser(context.Background(), u)
	})
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantErr(t, "CreateUser(raced)", err, store.ErrConflict)
	}
	if won != 1 {
		t.Errorf("%d concurrent CreateUser calls with one email succeeded, want 1", won)
	}
}

package api

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/google/uuid"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/auth"
	"github.com/containerpub/containerpub/internal/store"
)

// Password length bounds, in bytes.
const (
	minPassword = 8
	maxPassword = 256
)

// dummyHash is checked against when a login names an unknown email, so
// that the answer takes as long as for a known one.
var dummyHash, _ = auth.HashPassword("containerpub-dummy-password")

func (a *API) register(w http.ResponseWriter, r *http.Request) error {
	var c client.Credentials
	if err := readJSONUpTo(w, r, &c, maxCredentialsBody); err != nil {
		return err
	}
	email, err := checkEmail(c.Email)
	if err != nil {
		return err
	}
	if len(c.Password) < minPassword || len(c.Password) > maxPassword {
		return errorf(http.StatusBadRequest, "password must be %d to %d bytes long", minPassword, maxPassword)
	}
	hash, err := auth.HashPassword(c.Password)
	if err != nil {
		return err
	}
	u := store.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, CreatedAt: a.now()}
	if err := a.st.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errorf(http.StatusConflict, "an account with email %s exists: log in instead", email)
		}
		return err
	}
	a.log.Info("user registered", "user_id", u.ID)
	return a.startSession(w, r, u, http.StatusCreated)
}

func checkEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || len(s) > 254 {
		return "", errorf(http.StatusBadRequest, "invalid email address %q", s)
	}
	return s, nil
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var c client.Credentials
	if err := readJSONUpTo(w, r, &c, maxCredentialsBody); err != nil {
		return err
	}
	if len(c.Password) > maxPassword {
		// No account has such a password: refuse it before paying for a
		// hash of it.
		return errorf(http.StatusBadRequest, "password must be at most %d bytes long", maxPassword)
	}
	email := strings.ToLower(strings.TrimSpace(c.Email))
	u, err := a.st.UserByEmail(r.Context(), email)
	if errors.Is(err, store.ErrNotFound) {
		auth.CheckPassword(dummyHash, c.Password)
		return errorf(http.StatusUnauthorized, "wrong email or password")
	}
	if err != nil {
		return err
	}
	if !auth.CheckPassword(u.PasswordHash, c.Password) {
		a.log.Info("failed login", "user_id", u.ID)
		return errorf(http.StatusUnauthorized, "wrong email or password")
	}
	return a.startSession(w, r, u, http.StatusOK)
}

func (a *API) startSession(w http.ResponseWriter, r *http.Request, u store.User, status int) error {
	token, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	now := a.now()
	t := store.Token{Hash: hash, UserID: u.ID, Kind: store.TokenSession, CreatedAt: now, ExpiresAt: now.Add(a.sessionTTL)}
	if err := a.st.CreateToken(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, status, client.Session{Token: token, ExpiresAt: t.ExpiresAt, User: userJSON(u)})
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, _ string) error {
	token := auth.BearerToken(r)
	a.auth.Forget(token)
	if err := a.st.DeleteToken(r.Context(), auth.HashToken(token)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request, userID string) error {
	u, err := a.st.UserByID(r.Context(), userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func userJSON(u store.User) client.User {
	return client.User{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt}
}

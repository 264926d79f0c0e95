// Package auth holds accounts and bearer tokens: password hashing with
// argon2id, opaque tokens stored only as hashes in the database (so any
// backend sharing the database accepts them and logout ends them
// everywhere), and the lookup of the user behind a request.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/containerpub/containerpub/internal/store"
)

// Errors of Authenticate.
var (
	// ErrNoToken means the request carried no bearer token.
	ErrNoToken = errors.New("missing bearer token")
	// ErrBadToken means the token is unknown, revoked or expired.
	ErrBadToken = errors.New("invalid or expired token")
)

// TokenPrefix marks ContainerPub tokens, so that secret scanners,
// people and the gateway (which keeps them from functions) can
// recognise one.
const TokenPrefix = "cpt_"

// argon2id parameters: 19 MiB, 2 passes, 1 lane, OWASP's recommended
// minimum. Each hash holds its memory while it runs, so hashes are also
// limited to one per core at a time: a burst of logins cannot exhaust the
// backend's memory.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	// maxKeyLen, maxMemory and maxTime bound what CheckPassword accepts
	// from a stored hash, so that a corrupt one cannot ask for a huge key
	// or huge memory.
	maxKeyLen = 1024
	maxMemory = 256 * 1024
	maxTime   = 10
)

// hashSlots limits the password hashes running at once.
var hashSlots = make(chan struct{}, goruntime.NumCPU())

// idKey is argon2.IDKey within a hash slot.
func idKey(password, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(password, salt, t, m, p, keyLen)
}

// HashPassword returns an encoded argon2id hash of password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := idKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an encoded hash.
func CheckPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil ||
		m > maxMemory || t > maxTime || t == 0 || p == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	// The bound keeps a corrupt hash from asking argon2 for a huge key.
	keyLen := len(want)
	if keyLen > maxKeyLen {
		return false
	}
	got := idKey([]byte(password), salt, t, m, p, uint32(keyLen))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// NewToken returns a new random token and the hash to store.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("read token: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CarriesPlatformToken reports whether any of the values of an
// Authorization header holds a ContainerPub token, which must never reach
// a function: it is its holder's key to the whole API. Any value that
// holds the token prefix anywhere counts, however it is spaced or listed,
// so that no token slips through behind another credential; a function's
// own credential that happens to hold the prefix is dropped with it.
func CarriesPlatformToken(values []string) bool {
	for _, v := range values {
		if strings.Contains(v, TokenPrefix) {
			return true
		}
	}
	return false
}

// BearerToken returns the token of an Authorization header, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// Tokens is the part of the store Authenticator reads.
type Tokens interface {
	TokenByHash(ctx context.Context, hash string) (store.Token, error)
}

// Authenticator finds the user behind a token. It caches answers for a
// short time because the call path asks on every call to a private
// function; Forget drops a token at once on this backend, and the cache
// lifetime bounds how long another backend may still accept it.
type Authenticator struct {
	tokens Tokens
	ttl    time.Duration
	now    func() time.Time

	// mu guards cache.
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	userID  string
	expires time.Time // of the cache entry, never after the token's
}

// NewAuthenticator returns an Authenticator caching lookups for ttl.
func NewAuthenticator(tokens Tokens, ttl time.Duration) *Authenticator {
	return &Authenticator{tokens: tokens, ttl: ttl, now: time.Now, cache: make(map[string]cached)}
}

// Authenticate returns the id of the user whose token the request bears.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (string, error) {
	token := BearerToken(r)
	if token == "" {
		return "", ErrNoToken
	}
	hash := HashToken(token)
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[hash]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.userID, nil
	}
	t, err := a.tokens.TokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrBadToken
	}
	if err != nil {
		return "", fmt.Errorf("look up token: %w", err)
	}
	if !now.Before(t.ExpiresAt) {
		return "", ErrBadToken
	}
	exp := now.Add(a.ttl)
	if t.ExpiresAt.Before(exp) {
		exp = t.ExpiresAt
	}
	a.mu.Lock()
	if len(a.cache) > 10000 {
		clear(a.cache) // bound memory; entries are cheap to rebuild
	}
	a.cache[hash] = cached{userID: t.UserID, expires: exp}
	a.mu.Unlock()
	return t.UserID, nil
}

// Forget drops a token from the cache, after logout.
func (a *Authenticator) Forget(token string) {
	a.mu.Lock()
	delete(a.cache, HashToken(token))
	a.mu.Unlock()
}

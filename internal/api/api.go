// Package api serves the management routes of docs/API.md: accounts,
// functions, deployments, records and health. Handlers return errors; one
// adapter turns them into HTTP answers, showing the client a message and
// logging the cause.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/auth"
	"github.com/containerpub/containerpub/internal/build"
	"github.com/containerpub/containerpub/internal/deploy"
	"github.com/containerpub/containerpub/internal/gateway"
	"github.com/containerpub/containerpub/internal/store"
)

// Pinger is a dependency whose health /readyz reports.
type Pinger interface {
	Ping(ctx context.Context) error
}

// API holds what the handlers need.
type API struct {
	st         store.Store
	deploys    *deploy.Service
	gw         *gateway.Gateway
	auth       *auth.Authenticator
	log        *slog.Logger
	sessionTTL time.Duration
	ready      map[string]Pinger
	now        func() time.Time
	// uploads bounds the uploads read and checked at once, userUploads
	// those of one user, so that one user cannot take every slot.
	uploads     chan struct{}
	userUploads *userCounter
}

// Options configure an API.
type Options struct {
	// SessionTTL is the lifetime of login tokens.
	SessionTTL time.Duration
	// Ready names the dependencies /readyz checks.
	Ready map[string]Pinger
}

// New returns an API.
func New(st store.Store, deploys *deploy.Service, gw *gateway.Gateway, a *auth.Authenticator,
	logger *slog.Logger, opts Options,
) *API {
	return &API{
		st: st, deploys: deploys, gw: gw, auth: a, log: logger,
		sessionTTL: opts.SessionTTL, ready: opts.Ready, now: time.Now,
		uploads: make(chan struct{}, maxUploads), userUploads: newUserCounter(maxUserUploads),
	}
}

// Handler returns the backend's whole HTTP handler: the API, health
// checks and the function gateway.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)

	mux.Handle("POST /api/auth/register", a.public(a.register))
	mux.Handle("POST /api/auth/login", a.public(a.login))
	mux.Handle("POST /api/auth/logout", a.user(a.logout))
	mux.Handle("GET /api/auth/me", a.user(a.me))

	mux.Handle("GET /api/functions", a.user(a.listFunctions))
	mux.Handle("POST /api/functions", a.user(a.createFunction))
	mux.Handle("GET /api/functions/{fn}", a.user(a.getFunction))
	mux.Handle("DELETE /api/functions/{fn}", a.user(a.deleteFunction))

	mux.Handle("POST /api/functions/{fn}/deployments", a.user(a.upload))
	mux.Handle("GET /api/functions/{fn}/deployments", a.user(a.listDeployments))
	mux.Handle("GET /api/functions/{fn}/deployments/{version}", a.user(a.getDeployment))
	mux.Handle("GET /api/functions/{fn}/deployments/{version}/log", a.user(a.buildLog))

	mux.Handle("POST /api/functions/{fn}/invoke", a.user(a.invoke))
	mux.Handle("GET /api/functions/{fn}/executions", a.user(a.listExecutions))
	mux.Handle("GET /api/functions/{fn}/executions/{id}", a.user(a.getExecution))
	mux.Handle("GET /api/functions/{fn}/logs", a.user(a.logs))

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Calls reach the gateway as sent: the mux would clean their
		// paths, and answer "//" or "/./" with a redirect, but the path
		// below the function is the function's own business.
		if strings.HasPrefix(r.URL.Path, "/f/") {
			a.gw.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// handler is a route that may fail.
type handler func(w http.ResponseWriter, r *http.Request) error

// userHandler is a route for a logged-in user.
type userHandler func(w http.ResponseWriter, r *http.Request, userID string) error

func (a *API) public(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeErr(w, r, err)
		}
	})
}

func (a *API) user(h userHandler) http.Handler {
	return a.public(func(w http.ResponseWriter, r *http.Request) error {
		userID, err := a.auth.Authenticate(r.Context(), r)
		if err != nil {
			return err
		}
		return h(w, r, userID)
	})
}

// httpError is an error with the status and message the client sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// writeErr is the one place errors become HTTP answers.
func (a *API) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.As(err, &he):
		status, msg = he.status, he.msg
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrBadToken):
		status, msg = http.StatusUnauthorized, err.Error()
	case errors.Is(err, build.ErrTooLarge), errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, err.Error()
	case errors.Is(err, build.ErrInvalid):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, store.ErrConflict):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away; nobody reads an answer
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrDeadlineExceeded):
		status, msg = http.StatusBadRequest, "the request body was cut short or sent too slowly"
	}
	if status >= 500 {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	} else {
		a.log.Debug("request refused", "method", r.Method, "path", r.URL.Path,
			"status", status, "error", err)
	}
	w.Header().Set(client.ErrorHeader, "1")
	writeJSON(w, status, client.Error{Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxUploads is how many uploads are received and checked at once; more
// wait for none and get 429.
const maxUploads = 8

// maxUserUploads is how many of them one user may have. The count is the
// process's own: several backends each allow this many.
const maxUserUploads = 2

// maxJSONBody bounds the JSON bodies of management routes.
const maxJSONBody = 1 << 20

// Time limits on reading request bodies, so that a client sending a body
// slowly cannot hold a connection and a handler for ever.
const (
	jsonReadTimeout   = 30 * time.Second
	uploadReadTimeout = 10 * time.Minute
)

// maxCredentialsBody bounds the body of register and login, which
// anyone may send.
const maxCredentialsBody = 4 << 10

// readJSON decodes a JSON body strictly into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return readJSONUpTo(w, r, v, maxJSONBody)
}

// readJSONUpTo decodes a JSON body of at most limit bytes strictly into v.
func readJSONUpTo(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(jsonReadTimeout)) // best effort: not every writer supports it
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "request body over %d bytes", limit)
		}
		return errorf(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return errorf(http.StatusBadRequest, "invalid JSON body: more than one value")
	}
	return nil
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status := http.StatusOK
	checks := map[string]string{}
	for name, p := range a.ready {
		if err := p.Ping(ctx); err != nil {
			status = http.StatusServiceUnavailable
			checks[name] = err.Error()
			continue
		}
		checks[name] = "ok"
	}
	writeJSON(w, status, checks)
}

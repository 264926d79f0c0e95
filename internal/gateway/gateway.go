// Package gateway serves calls to functions: it finds the function's
// pool, reserves a slot on an instance, and proxies the caller's request
// to it over the instance's own connection, passing the real method, path,
// query, headers and body in and the real status, headers and body back,
// streamed as the function writes them. It enforces the function's
// timeout end to end and its body limits, and records every call.
//
// A call takes one of two HTTP paths: the gateway's own HTTP/1.1 path on
// the connections ConnServer accepts (conn.go, wire.go, wirecall.go),
// which serves nearly every call, and net/http's server with
// httputil.ReverseProxy (Gateway.ServeHTTP) for connections handed to it.
// Both make the same call.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/pool"
	"github.com/containerpub/containerpub/internal/store"
)

// ErrNotFound is returned by a Resolver for a name with no function, or
// a function with no active version.
var ErrNotFound = errors.New("no such function")

// Target is a function that takes calls.
type Target struct {
	FunctionID string
	Name       string
	OwnerID    string
	Pool       *pool.Pool
}

// Resolver finds the function a call is for. Implementations are safe for
// concurrent use, fast (they run on every call), and return an error
// wrapping ErrNotFound when there is no active function of that name.
type Resolver interface {
	Resolve(ctx context.Context, name string) (*Target, error)
}

// Authenticator finds the user behind a request's bearer token.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (userID string, err error)
}

// Recorder stores records of calls that never reached an instance.
type Recorder interface {
	RecordExecution(e store.Execution)
}

// Gateway proxies calls to function instances.
type Gateway struct {
	resolver Resolver
	auth     Authenticator
	rec      Recorder
	log      *slog.Logger
	proxy    *httputil.ReverseProxy
	now      func() time.Time
}

// New returns a Gateway.
func New(res Resolver, auth Authenticator, rec Recorder, logger *slog.Logger) *Gateway {
	g := &Gateway{resolver: res, auth: auth, rec: rec, log: logger, now: time.Now}
	// The proxy of calls on connections net/http serves; most calls take
	// the own path instead (conn.go).
	g.proxy = &httputil.ReverseProxy{
		Rewrite:   rewrite,
		Transport: instanceTransport{},
		// No periodic flushing: the proxy flushes at once by itself for
		// responses without a length and for server-sent events, so a
		// streamed answer reaches the caller as the function writes it,
		// while a plain answer leaves in one write, not two.
		FlushInterval:  0,
		ModifyResponse: limitResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		// Without a pool the proxy makes a 32 KiB copy buffer per call:
		// at thousands of calls a second that garbage alone kept the
		// collector busy (BENCHMARKS.md, warm overhead).
		BufferPool: copyBuffers{},
	}
	return g
}

// copyBuffers lends the proxy its body copy buffers.
type copyBuffers struct{}

// copyBufferSize matches the proxy's own default.
const copyBufferSize = 32 << 10

var copyBufferPool = sync.Pool{New: func() any { return new([copyBufferSize]byte) }}

func (copyBuffers) Get() []byte { return copyBufferPool.Get().(*[copyBufferSize]byte)[:] }

func (copyBuffers) Put(b []byte) {
	if cap(b) == copyBufferSize {
		copyBufferPool.Put((*[copyBufferSize]byte)(b[:copyBufferSize]))
	}
}

// ServeHTTP serves /f/{name}/{path...}: anyone may call a public
// function; a private one needs its owner's token.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, path, _ := SplitCallPath(r)
	t, err := g.resolver.Resolve(r.Context(), name)
	if err != nil {
		g.resolveError(w, name, err)
		return
	}
	cfg := t.Pool.Deployment().Config
	stripAuth := false
	if !cfg.Public {
		user, err := g.auth.Authenticate(r.Context(), r)
		if err != nil || user != t.OwnerID {
			writeError(w, http.StatusUnauthorized,
				fmt.Sprintf("function %s is private: call it with its owner's token", name))
			return
		}
		// The platform token is the owner's secret, not the function's.
		stripAuth = true
	}
	g.Call(w, r, t, path, stripAuth)
}

func (g *Gateway) resolveError(w http.ResponseWriter, name string, err error) {
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no active function named %q", name))
		return
	}
	if errors.Is(err, context.Canceled) {
		// The caller went away, or the server is closing: nothing failed.
		g.log.Debug("resolve function cancelled", "function", name)
	} else {
		g.log.Error("resolve function", "function", name, "error", err)
	}
	writeError(w, http.StatusServiceUnavailable, "function lookup failed; try again")
}

// SplitCallPath splits the path of a call to /f/{name}/{path...} into the
// function's name and the path the function sees, reading both from the
// path as sent: escapes such as %2F stay in the function's path, and
// "//" stays double. ok is false for a path outside /f/.
func SplitCallPath(r *http.Request) (name, path string, ok bool) {
	if !strings.HasPrefix(r.URL.Path, "/f/") {
		return "", "", false
	}
	if rest, found := strings.CutPrefix(r.URL.EscapedPath(), "/f/"); found {
		escName, p, _ := strings.Cut(rest, "/")
		name, err := url.PathUnescape(escName)
		if err != nil {
			name = escName
		}
		return name, "/" + p, true
	}
	// "/f/" itself was written escaped: go by the decoded path, escaped
	// again for the function.
	name, p, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/f/"), "/")
	return name, (&url.URL{Path: "/" + p}).EscapedPath(), true
}

// Call proxies r to an instance of t at path, an escaped URL path. The
// caller has already authorised the call; stripAuth removes the
// Authorization header that authorised it.
func (g *Gateway) Call(w http.ResponseWriter, r *http.Request, t *Target, path string, stripAuth bool) {
	c := g.newCall(r.Method, r.Header.Get(client.RequestIDHeader), t, path, stripAuth)
	w.Header().Set(client.RequestIDHeader, c.exec.RequestID)
	cfg := t.Pool.Deployment().Config

	// The timeout covers the whole call: the wait in the queue, the cold
	// start, and the function's work.
	ctx, cancel := context.WithTimeout(r.Context(), cfg.Limits.Timeout.D())
	defer cancel()
	c.ctx = ctx
	c.deadline, _ = ctx.Deadline()
	// It covers the caller's side as well: a caller that sends its body
	// or reads the answer slowly cannot hold the instance's slot past it.
	// The connection's deadlines fall a little after the call's, so that
	// the call ends as a timeout rather than as a caller gone away.
	rc := http.NewResponseController(w)
	deadline, _ := ctx.Deadline()
	callerDeadlines(r, rc, deadline.Add(callerGrace))
	defer func() { _ = rc.SetWriteDeadline(time.Now().Add(finalWriteGrace)) }()

	if r.ContentLength > c.maxRequest {
		c.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"request body of %d bytes is over the limit of %d KiB of function %s",
			r.ContentLength, cfg.Limits.MaxRequestKB, t.Name))
		g.rec.RecordExecution(c.finish(g.now()))
		return
	}

	body := r.Body
	hasBody := body != nil && body != http.NoBody
	lease := t.Pool.TryAcquire(c.exec.RequestID)
	if lease == nil {
		// The call waits for a slot: its body is read ahead meanwhile,
		// so that a caller that hangs up or sends a malformed body is
		// seen (readahead.go). A body that is not read to its end
		// (longer than the read ahead, or waiting for 100 Continue)
		// hides a hang-up from net/http: its caller's connection is
		// watched instead.
		actx, stop := context.WithCancel(ctx)
		watch := func() { watchCaller(actx, r, stop) }
		switch {
		case hasBody && !expectsContinue(r):
			body = newReadAhead(body, func(err error) {
				c.noteBodyError(err)
				stop()
			}, watch)
		case hasBody:
			watch()
		}
		var err error
		lease, err = g.acquire(actx, c)
		stop()
		if err != nil {
			if !c.bodyFailed(w, true) {
				g.acquireError(w, c, err)
			}
			g.rec.RecordExecution(c.finish(g.now()))
			if c.exec.HTTPStatus == 0 {
				// Nobody to answer: the caller left. A caller that only
				// closed its sending side must not read an empty answer
				// as a success.
				panic(http.ErrAbortHandler)
			}
			return
		}
	}
	c.lease = lease
	c.exec.InstanceID = lease.Instance().Name()
	c.exec.DeploymentID = c.target.Pool.Deployment().DeploymentID
	c.exec.ColdStart = lease.Cold

	rw := &responseWriter{ResponseWriter: w}
	in := r.WithContext(withCall(ctx, c))
	if hasBody {
		in.Body = &limitedBody{rc: body, c: c}
	}
	defer func() {
		p := recover()
		if err, _ := p.(error); p != nil && !errors.Is(err, http.ErrAbortHandler) {
			// A bug, not the caller or the function: the slot must still
			// come back, and the instance is not to be trusted.
			c.exec.Status = client.ExecutionError
			c.exec.Error = "platform error"
			lease.Release(true, c.finish(g.now()))
			panic(p)
		}
		if p != nil {
			c.aborted()
		}
		c.exec.HTTPStatus = rw.status
		c.exec.ResponseBytes = rw.n
		exec := c.finish(g.now())
		if c.callerGone && !c.broken && lease.Exclusive() {
			// The function may still be working on the call: its slot
			// stays taken until it is done, so a caller cannot start more
			// work than the limits allow by hanging up.
			deadline, _ := ctx.Deadline()
			go releaseWhenDone(lease, exec, deadline)
		} else {
			lease.Release(c.broken, exec)
		}
		if p != nil {
			panic(p)
		}
	}()
	g.proxy.ServeHTTP(rw, in)
}

// expectsContinue reports whether the caller waits for 100 Continue
// before it sends the body. Such a body is not read ahead while the call
// waits for a slot: reading it would tell the caller to send it, only to
// be refused if the wait ends at capacity.
//
// It reads the header as net/http's server does, which answers 100
// Continue for "100-continue" anywhere in the first Expect value between
// spaces or commas.
func expectsContinue(r *http.Request) bool {
	const token = "100-continue"
	v := r.Header.Get("Expect")
	for i := 0; i+len(token) <= len(v); i++ {
		if !strings.EqualFold(v[i:i+len(token)], token) {
			continue
		}
		before := i == 0 || v[i-1] == ' ' || v[i-1] == ','
		end := i + len(token)
		after := end == len(v) || v[end] == ' ' || v[end] == ','
		if before && after {
			return true
		}
	}
	return false
}

// callerGrace is how long after a call's deadline its caller's
// connection reads and writes are cut.
const callerGrace = time.Second

// finalWriteGrace is how long the server may take to send the last
// buffered bytes of an answer once the call is over.
const finalWriteGrace = 10 * time.Second

// callerDeadlines bounds the reads and writes on the caller's
// connection. The read deadline is set only while a body remains to be
// read: without one, net/http is already reading the connection in the
// background to notice the caller leaving, and a deadline there would
// end the connection's context for every later request on it. net/http
// clears both deadlines itself, the read one when the body has been read
// and the write one after each answer.
func callerDeadlines(r *http.Request, rc *http.ResponseController, at time.Time) {
	if r.Body != nil && r.Body != http.NoBody {
		_ = rc.SetReadDeadline(at) // best effort: not every writer has deadlines
	}
	_ = rc.SetWriteDeadline(at) // best effort
}

// releaseWhenDone releases the lease of an abandoned call once the
// instance has finished it, or stops the instance at the call's timeout.
func releaseWhenDone(lease *pool.Lease, exec store.Execution, deadline time.Time) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-lease.CallDone():
		lease.Release(false, exec)
	case <-t.C:
		lease.Release(true, exec)
	}
}

// acquire reserves an instance slot. When the version was replaced while
// the call waited, it retries once on the function's new version.
func (g *Gateway) acquire(ctx context.Context, c *call) (*pool.Lease, error) {
	lease, err := c.target.Pool.Acquire(ctx, c.exec.RequestID)
	if !errors.Is(err, pool.ErrClosed) {
		return lease, err
	}
	t, rerr := g.resolver.Resolve(ctx, c.target.Name)
	if rerr != nil {
		return nil, err
	}
	c.target = t
	c.exec.FunctionID = t.FunctionID
	return t.Pool.Acquire(ctx, c.exec.RequestID)
}

func (g *Gateway) acquireError(w http.ResponseWriter, c *call, err error) {
	name := c.target.Name
	sc := c.target.Pool.Deployment().Config.Scaling
	switch {
	case errors.Is(err, pool.ErrQueueFull), errors.Is(err, pool.ErrQueueTimeout):
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(sc)))
		c.reject(w, http.StatusTooManyRequests, fmt.Sprintf(
			"function %s is at capacity (%d instances, %d calls each): %v",
			name, sc.MaxInstances, sc.Concurrency, err))
	case errors.Is(err, context.DeadlineExceeded):
		c.timeout(w)
	case errors.Is(err, context.Canceled):
		c.exec.Status = client.ExecutionRejected
		c.exec.Error = "caller went away while queued"
	case errors.Is(err, pool.ErrStartFailed):
		c.fail(w, http.StatusBadGateway, fmt.Sprintf("function %s: %v", name, err))
	default:
		g.log.Error("acquire instance", "function", name, "error", err)
		c.fail(w, http.StatusServiceUnavailable, fmt.Sprintf("function %s: %v", name, err))
	}
}

// instanceFailure says why an instance failed a call, or "" when it
// still runs.
//
// It waits for the instance's exit to be known up to two seconds, but not
// past the call's deadline: the caller is owed an answer by then.
func instanceFailure(deadline time.Time, inst *pool.Instance) string {
	if inst.Retired() {
		return "instance stopped by the platform (the function was deleted or its version replaced)"
	}
	return inst.ExitReason(max(0, min(2*time.Second, time.Until(deadline))))
}

// retryAfter suggests when to retry a call refused at capacity, in
// seconds: a fraction of the queue timeout, at least one.
func retryAfter(sc client.Scaling) int {
	return max(1, int(sc.QueueTimeout.D()/(4*time.Second)))
}

// proxyError answers a call the proxy could not complete.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c := callFrom(r.Context())
	name := c.target.Name
	limits := c.target.Pool.Deployment().Config.Limits
	switch {
	case c.requestTooLarge.Load():
		c.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"request body is over the limit of %d KiB of function %s", limits.MaxRequestKB, name))
	case errors.Is(err, errResponseTooLarge):
		c.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"response body is over the limit of %d KiB of function %s", limits.MaxResponseKB, name))
	case errors.Is(err, pool.ErrResponseHeadTooLarge):
		c.fail(w, http.StatusBadGateway, fmt.Sprintf("function %s: %v", name, err))
	case errors.Is(c.ctx.Err(), context.DeadlineExceeded):
		c.timeout(w)
	case c.bodyFailed(w, false):
		// The function may have the start of the request and be working
		// on it: as for a caller gone, its slot is kept until it is done.
		// One that got none of it has nothing to do.
		var be *pool.RequestBodyError
		c.callerGone = !errors.As(err, &be) || be.Sent
	case c.ctx.Err() != nil:
		c.callerGone = true
		c.exec.Status = client.ExecutionError
		c.exec.Error = "caller went away"
	case errors.Is(err, pool.ErrBadAnswer):
		// The instance runs, and said something that is not HTTP: no
		// exit to wait for. The answer is the own path's (wireFailure).
		c.broken = true
		c.fail(w, http.StatusBadGateway, fmt.Sprintf("function %s instance failed: %v", name, pool.ErrBadAnswer))
	default:
		c.broken = true
		reason := instanceFailure(c.deadline, c.lease.Instance())
		if reason == "" {
			reason = "closed the connection without answering: " + err.Error()
		}
		g.log.Warn("call failed", "function", name, "instance", c.exec.InstanceID,
			"request_id", c.exec.RequestID, "reason", reason)
		c.fail(w, http.StatusBadGateway, fmt.Sprintf("function %s instance failed: %s", name, reason))
	}
}

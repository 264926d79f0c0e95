package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/auth"
	"github.com/containerpub/containerpub/internal/pool"
	"github.com/containerpub/containerpub/internal/store"
)

// call is the state of one call while the proxy handles it. It travels in
// the outgoing request's context because the proxy's hooks receive only
// the request.
type call struct {
	// ctx is the call's context on net/http's path, which ends at the
	// deadline; on the own path it has no deadline of its own.
	ctx         context.Context
	deadline    time.Time
	target      *Target
	lease       *pool.Lease
	path        string
	rawPath     string
	stripAuth   bool
	maxRequest  int64
	maxResponse int64
	exec        store.Execution

	// The request body is read by the transport's own goroutine, which
	// may outlive the handler: what it writes is atomic.
	requestBytes    atomic.Int64
	requestTooLarge atomic.Bool
	// bodyErr is what ended the reading of the caller's body before its
	// end, other than the size limit: the caller hanging up, or a body
	// that is not well formed (a bad chunk).
	bodyErr          atomic.Pointer[bodyFailure]
	responseTooLarge bool
	// broken marks the instance for removal: it timed out or failed.
	broken bool
	// callerGone marks a call whose caller hung up before the answer.
	callerGone bool
}

type callKey struct{}

func withCall(ctx context.Context, c *call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

func callFrom(ctx context.Context) *call {
	return ctx.Value(callKey{}).(*call)
}

// newCall starts the record of a call of method to rawPath of t; callerID
// is the caller's X-Request-Id, if any.
func (g *Gateway) newCall(method, callerID string, t *Target, rawPath string, stripAuth bool) *call {
	cfg := t.Pool.Deployment().Config
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		path, rawPath = rawPath, "" // not escaped after all
	}
	id := newExecutionID()
	return &call{
		target:      t,
		path:        path,
		rawPath:     rawPath,
		stripAuth:   stripAuth,
		maxRequest:  int64(cfg.Limits.MaxRequestKB) << 10,
		maxResponse: int64(cfg.Limits.MaxResponseKB) << 10,
		exec: store.Execution{
			ID:         id,
			FunctionID: t.FunctionID,
			RequestID:  requestID(callerID, id),
			Method:     method,
			Path:       path,
			StartedAt:  g.now(),
			Status:     client.ExecutionSuccess,
		},
	}
}

// newExecutionID returns a time-ordered UUID (version 7): records are
// inserted in time order, so their primary key index grows at one end.
func newExecutionID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// requestID keeps a caller's request id when it is a sane token, so that
// a trace can follow a call across systems; otherwise the call's request
// id is its execution's id.
func requestID(id, executionID string) string {
	if id == "" || len(id) > 128 {
		return executionID
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return executionID
		}
	}
	return id
}

// finish completes the record at now.
func (c *call) finish(now time.Time) store.Execution {
	c.exec.RequestBytes = c.requestBytes.Load()
	c.exec.CompletedAt = &now
	c.exec.DurationMS = float64(now.Sub(c.exec.StartedAt)) / float64(time.Millisecond)
	return c.exec
}

// bodyFailure is an error reading the caller's body.
type bodyFailure struct{ err error }

// noteBodyError keeps the first error that ended reading the caller's
// body early. The body's end and the size limit are not such errors.
func (c *call) noteBodyError(err error) {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, errRequestTooLarge) {
		return
	}
	c.bodyErr.CompareAndSwap(nil, &bodyFailure{err})
}

// bodyFailed answers a call whose body could not be read, and reports
// whether it was one. A caller that hung up is not answered; a body that
// is not well formed is a 400 that says what was wrong. Neither is the
// function's doing. A call that never reached an instance (queued) is
// recorded as rejected, as other calls refused before it are.
func (c *call) bodyFailed(w http.ResponseWriter, queued bool) bool {
	f := c.bodyErr.Load()
	if f == nil {
		return false
	}
	if callerHungUp(f.err) {
		c.exec.Status = client.ExecutionError
		c.exec.Error = "caller went away while sending the body"
		if queued {
			c.exec.Status = client.ExecutionRejected
			c.exec.Error = "caller went away while queued, sending the body"
		}
		return true
	}
	c.reject(w, http.StatusBadRequest, "request body is malformed: "+f.err.Error())
	return true
}

// errTrailerEOF is net/http's error for a body whose trailers were cut
// off; it has no variable of its own.
const errTrailerEOF = "http: unexpected EOF reading trailer"

// callerHungUp tells an error reading a request body that comes from the
// connection (its end, its deadline, a reset) from one about what the
// caller sent.
func callerHungUp(err error) bool {
	var ne net.Error // syscall errors such as ECONNRESET are net.Errors
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, http.ErrBodyReadAfterClose) || errors.As(err, &ne) ||
		err.Error() == errTrailerEOF
}

// reject answers a call refused before it reached the function.
func (c *call) reject(w http.ResponseWriter, status int, msg string) {
	c.exec.Status = client.ExecutionRejected
	c.exec.HTTPStatus = status
	c.exec.Error = msg
	writeError(w, status, msg)
}

// fail answers a call that failed on the platform's side.
func (c *call) fail(w http.ResponseWriter, status int, msg string) {
	c.exec.Status = client.ExecutionError
	c.exec.HTTPStatus = status
	c.exec.Error = msg
	writeError(w, status, msg)
}

// timeout answers a call that ran out of time, and marks its instance for
// removal so the work does not go on behind the caller's back.
func (c *call) timeout(w http.ResponseWriter) {
	c.broken = c.lease != nil
	limit := c.target.Pool.Deployment().Config.Limits.Timeout
	msg := fmt.Sprintf("function %s did not finish within its timeout of %s", c.target.Name, limit)
	c.exec.Status = client.ExecutionTimeout
	c.exec.HTTPStatus = http.StatusGatewayTimeout
	c.exec.Error = msg
	writeError(w, http.StatusGatewayTimeout, msg)
}

// aborted records why a response broke off after its headers were sent.
func (c *call) aborted() {
	switch {
	case c.responseTooLarge:
		c.exec.Status = client.ExecutionError
		c.exec.Error = fmt.Sprintf("response cut at the limit of %d KiB",
			c.target.Pool.Deployment().Config.Limits.MaxResponseKB)
	case errors.Is(c.ctx.Err(), context.DeadlineExceeded):
		c.broken = true
		c.exec.Status = client.ExecutionTimeout
		c.exec.Error = fmt.Sprintf("response cut at the timeout of %s",
			c.target.Pool.Deployment().Config.Limits.Timeout)
	case c.ctx.Err() != nil:
		c.callerGone = true
		c.exec.Status = client.ExecutionError
		c.exec.Error = "caller went away during the response"
	default:
		c.broken = true
		c.exec.Status = client.ExecutionError
		reason := instanceFailure(c.deadline, c.lease.Instance())
		if reason == "" {
			reason = "connection to the instance broke"
		}
		c.exec.Error = "response cut: " + reason
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(client.ErrorHeader, "1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(client.Error{Message: msg})
}

// rewrite points the outgoing request at the leased instance.
func rewrite(pr *httputil.ProxyRequest) {
	c := callFrom(pr.In.Context())
	out := pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = "function"
	out.URL.Path = c.path
	out.URL.RawPath = c.rawPath
	// The query as sent, as on the own path: the proxy drops parameters
	// it cannot parse, but the platform reads none of them.
	out.URL.RawQuery = pr.In.URL.RawQuery
	out.Host = pr.In.Host
	pr.SetXForwarded()
	out.Header.Set(client.RequestIDHeader, c.exec.RequestID)
	if c.stripAuth || auth.CarriesPlatformToken(out.Header.Values("Authorization")) {
		out.Header.Del("Authorization")
	}
}

// instanceTransport sends each request over the transport of the
// instance its call leased, which keeps that instance's connections
// alive between calls.
type instanceTransport struct{}

func (instanceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return callFrom(r.Context()).lease.Instance().Transport().RoundTrip(r)
}

var errResponseTooLarge = errors.New("response body over the limit")

// limitResponse refuses a response declared over the limit, and cuts one
// that grows past it while streaming.
func limitResponse(resp *http.Response) error {
	c := callFrom(resp.Request.Context())
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection (WebSocket) is a stream both ways, not
		// a body; the proxy needs it as it is. The timeout still ends it.
		return nil
	}
	// A HEAD answer's length is that of a body it does not carry.
	if resp.ContentLength > c.maxResponse && resp.Request.Method != http.MethodHead {
		c.responseTooLarge = true
		return errResponseTooLarge
	}
	resp.Body = &limitedResponse{rc: resp.Body, c: c, left: c.maxResponse}
	return nil
}

type limitedResponse struct {
	rc   io.ReadCloser
	c    *call
	left int64
}

func (l *limitedResponse) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe for one more byte: a body of exactly the limit is fine.
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			l.c.responseTooLarge = true
			return 0, errResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedResponse) Close() error { return l.rc.Close() }

// limitedBody counts the request body and stops it at the limit.
type limitedBody struct {
	rc io.ReadCloser
	c  *call
}

var errRequestTooLarge = errors.New("request body over the limit")

func (l *limitedBody) Read(p []byte) (int, error) {
	left := l.c.maxRequest - l.c.requestBytes.Load()
	if left <= 0 {
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			l.c.requestTooLarge.Store(true)
			return 0, errRequestTooLarge
		}
		l.c.noteBodyError(err)
		return 0, err
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := l.rc.Read(p)
	l.c.requestBytes.Add(int64(n))
	l.c.noteBodyError(err)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// responseWriter notes the status and size of what the proxy wrote.
type responseWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush on the real writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

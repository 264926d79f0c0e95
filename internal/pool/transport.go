package pool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/containerpub/containerpub/internal/runtime"
)

// transport is the HTTP/1.1 client of one instance. It keeps idle
// connections to the instance and does a call's work on the caller's
// goroutine: it writes the request, then reads the answer, where
// net/http.Transport hands each connection to a reader and a writer
// goroutine and pays two goroutine wake-ups per call. Only a body that
// is large or of unknown length is written from a goroutine of its own,
// so that a function may answer while the body still streams in.
//
// It is safe for concurrent use.
type transport struct {
	ep      runtime.Endpoint
	maxIdle int

	// mu guards idle and closed.
	mu     sync.Mutex
	idle   []*conn
	closed bool
}

// inlineBodyLimit is the largest request body written on the caller's
// goroutine: it fits in a unix socket's buffer, so the write cannot wait
// on a function that answers before reading it.
const inlineBodyLimit = 64 << 10

// conn is one connection to the instance with its buffers.
type conn struct {
	nc net.Conn
	// head caps what the answer's head may take: br reads through it.
	head *headLimit
	// sent counts the bytes written to nc through bw.
	sent int64
	peer *peer
	br   *bufio.Reader
	bw   *bufio.Writer
}

// Every idle connection is checked, when taken again, for having been
// closed by the instance: an instance may close kept-alive connections
// after an idle time of its own (Node's server does after 5 s), or right
// after an answer without saying so, and a call sent on such a
// connection could not be told from one the instance failed. The check
// is one non-blocking peek at the socket (BENCHMARKS.md has its cost).

// peer is the check of a connection for having been closed by the
// instance. Its parts are made once per connection, so that a check
// allocates nothing.
type peer struct {
	raw    syscall.RawConn // nil when the connection has no descriptor
	peekFn func(fd uintptr) bool
	closed bool
	buf    [1]byte
}

func newPeer(nc net.Conn) *peer {
	p := &peer{}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			p.raw = raw
		}
	}
	p.peekFn = p.peek
	return p
}

func (p *peer) peek(fd uintptr) bool {
	// recvfrom without a source address: unix.Recvfrom would allocate
	// one for every peek.
	_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd,
		uintptr(unsafe.Pointer(&p.buf[0])), 1, //nolint:gosec // one byte, converted in the call as unsafe.Pointer's rules ask
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	// EAGAIN: nothing to read, the connection is open and quiet. Any
	// other outcome (its end, a byte, an error) makes it unusable.
	p.closed = errno != unix.EAGAIN
	return true
}

// closedByPeer reports whether the instance has closed the connection,
// or sent on it unasked (which makes it unusable as well), with one
// non-blocking peek at the socket.
func (p *peer) closedByPeer() bool {
	if p.raw == nil {
		return false
	}
	err := p.raw.Read(p.peekFn)
	return err != nil || p.closed
}

// MaxResponseHeadBytes is the most an instance's answer may take before
// its body: status line, headers, and any informational answers before
// it. Past it the call fails with ErrResponseHeadTooLarge, so that a
// function cannot make the backend hold headers without end.
const MaxResponseHeadBytes = 1 << 20

// ErrResponseHeadTooLarge is the error of a call whose answer's head
// passed MaxResponseHeadBytes.
var ErrResponseHeadTooLarge = fmt.Errorf("answer's headers are over the limit of %d KiB", MaxResponseHeadBytes>>10)

// ErrBadAnswer is the error of a call whose instance answered with
// something that is not HTTP/1.1, as opposed to breaking the connection.
var ErrBadAnswer = errors.New("invalid HTTP answer")

// sentCounter writes to a connection and counts what it wrote.
type sentCounter struct{ c *conn }

func (w sentCounter) Write(p []byte) (int, error) {
	n, err := w.c.nc.Write(p)
	w.c.sent += int64(n)
	return n, err
}

// RequestBodyError is the error of a call whose caller's body could not
// be read to its end (the caller went away, or sent a malformed body).
type RequestBodyError struct {
	Err error
	// Sent is true when some of the request had reached the instance,
	// which may then be working on it.
	Sent bool
}

func (e *RequestBodyError) Error() string { return "read request body: " + e.Err.Error() }
func (e *RequestBodyError) Unwrap() error { return e.Err }

// headLimit passes reads through while it is off, and stops them with
// ErrResponseHeadTooLarge once left bytes have passed while it is on.
type headLimit struct {
	r    io.Reader
	on   bool
	left int
}

func (h *headLimit) Read(p []byte) (int, error) {
	if !h.on {
		return h.r.Read(p)
	}
	if h.left <= 0 {
		return 0, ErrResponseHeadTooLarge
	}
	if len(p) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.left -= n
	return n, err
}

func newTransport(ep runtime.Endpoint, maxIdle int) *transport {
	return &transport{ep: ep, maxIdle: maxIdle}
}

// CloseIdleConnections closes the idle connections and stops keeping
// new ones: the instance is going away.
func (t *transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.closed = true
	t.mu.Unlock()
	for _, c := range idle {
		_ = c.nc.Close() // nothing to report: the instance is going away
	}
}

func (t *transport) get(ctx context.Context) (c *conn, reused bool, err error) {
	if c := t.takeLive(); c != nil {
		return c, true, nil
	}
	return t.dial(ctx)
}

// getBy is get for a caller with a deadline rather than a context.
func (t *transport) getBy(deadline time.Time) (c *conn, reused bool, err error) {
	if c := t.takeLive(); c != nil {
		return c, true, nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return t.dial(ctx)
}

// takeIdle returns an idle connection, or nil.
func (t *transport) takeIdle() *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.idle)
	if n == 0 {
		return nil
	}
	c := t.idle[n-1]
	t.idle = t.idle[:n-1]
	return c
}

// takeLive returns an idle connection the instance has not closed, or
// nil.
func (t *transport) takeLive() *conn {
	for {
		c := t.takeIdle()
		if c == nil || !c.peer.closedByPeer() {
			return c
		}
		_ = c.nc.Close() // closed by the instance already
	}
}

// dial opens a new connection to the instance.
func (t *transport) dial(ctx context.Context) (c *conn, reused bool, err error) {
	nc, err := runtime.Dial(ctx, t.ep)
	if err != nil {
		return nil, false, err
	}
	head := &headLimit{r: nc}
	c = &conn{nc: nc, head: head, br: bufio.NewReaderSize(head, 16<<10), peer: newPeer(nc)}
	c.bw = bufio.NewWriterSize(sentCounter{c}, 16<<10)
	return c, false, nil
}

// put keeps c for the next call, or closes it. A connection whose reader
// holds bytes past the answer's end is closed: the instance sent more than
// it answered, and the next call must not read it as its own answer.
func (t *transport) put(c *conn) {
	if c.br.Buffered() > 0 {
		_ = c.nc.Close() // unusable: nothing to report
		return
	}
	t.mu.Lock()
	if !t.closed && len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	_ = c.nc.Close() // surplus connection
}

// RoundTrip sends one request. A request without a body that fails on a
// kept-alive connection before any byte of its answer arrived is tried
// once more on a new connection when SendAgain allows: the instance may
// have closed the idle connection as the request went out. One that failed after some of its answer came is
// not: the function has run.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := t.roundTrip(ctx, c, req)
		if err == nil {
			return resp, nil
		}
		// The body, read as it was sent, cannot be sent again.
		hasBody := req.Body != nil && req.Body != http.NoBody
		var un unanswered
		if !reused || attempt > 0 || ctx.Err() != nil || !errors.As(err, &un) ||
			hasBody || !SendAgain(req.Method, hasBody, un.sent) {
			return nil, err
		}
	}
}

// SendAgain reports whether a call that failed on a kept-alive connection
// before any byte of its answer came may be sent again on a new one: when
// none of it was written (sent false), or when it has no body and its
// method is one HTTP defines as safe, as Go's own client does. Any other
// call may have run, and must not run twice.
func SendAgain(method string, hasBody, sent bool) bool {
	if !sent {
		return true
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return !hasBody
	}
	return false
}

// aLongTimeAgo is a deadline in the past, which unblocks any pending
// read or write on a connection at once.
var aLongTimeAgo = time.Unix(1, 0)

func (t *transport) roundTrip(ctx context.Context, c *conn, req *http.Request) (*http.Response, error) {
	// The call's context is the only limit on it: cancelling it, by the
	// caller going away or by the function's timeout, breaks the
	// connection's pending read or write.
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(aLongTimeAgo) })

	out := *req // shallow: RoundTrip must not change the caller's request
	var src *sourceReader
	if req.Body != nil && req.Body != http.NoBody {
		src = &sourceReader{rc: req.Body}
		out.Body = src
	}
	writeErr := make(chan error, 1)
	sentBefore := c.sent
	if src == nil || (req.ContentLength >= 0 && req.ContentLength <= inlineBodyLimit) {
		err := writeRequest(c, &out)
		if err != nil && src != nil && src.err != nil {
			// Reading the caller's body failed (it went away, or passed
			// the size limit): there is no call to complete.
			stop()
			_ = c.nc.Close()
			return nil, &RequestBodyError{Err: src.err, Sent: c.sent > sentBefore}
		}
		// A failed write to the instance may still leave its answer
		// (for example an early error) to read.
		writeErr <- err
	} else {
		go func() {
			err := writeRequest(c, &out)
			if err != nil && src.err != nil {
				_ = c.nc.Close() // ends the read below too
			}
			writeErr <- err
		}()
	}

	resp, err := readResponse(c, req)
	if err != nil {
		stop()
		_ = c.nc.Close() // broken mid-call; a write still going ends with it
		if werr := <-writeErr; werr != nil && src != nil && src.err != nil {
			return nil, &RequestBodyError{Err: src.err, Sent: c.sent > sentBefore}
		}
		var un unanswered
		if errors.As(err, &un) {
			un.sent = c.sent > sentBefore
			return nil, un
		}
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection belongs to the caller from now on.
		stop()
		resp.Body = upgraded{c}
		return resp, nil
	}
	resp.Body = &body{rc: resp.Body, t: t, c: c, resp: resp, stop: stop, writeErr: writeErr}
	return resp, nil
}

// sourceReader remembers an error reading the caller's request body, to
// tell it from an error writing to the instance.
type sourceReader struct {
	rc  io.ReadCloser
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

func (s *sourceReader) Close() error { return s.rc.Close() }

func writeRequest(c *conn, req *http.Request) error {
	if err := req.Write(c.bw); err != nil {
		return err
	}
	return c.bw.Flush()
}

// readResponse reads the final answer, passing over informational (1xx)
// ones such as 100 Continue.
func readResponse(c *conn, req *http.Request) (*http.Response, error) {
	// What the reader already holds was read past an earlier answer's
	// end; it counts against this head's limit too.
	c.head.on, c.head.left = true, MaxResponseHeadBytes-c.br.Buffered()
	defer func() { c.head.on = false }()
	start := c.head.left
	for {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			switch {
			case malformed(err):
				return nil, fmt.Errorf("%w: %w", ErrBadAnswer, err)
			case c.head.left == start && c.br.Buffered() == 0:
				return nil, unanswered{err: err}
			}
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
}

// unanswered is the failure of a connection on which no byte of the
// answer arrived; sent tells whether any of the request was written.
type unanswered struct {
	err  error
	sent bool
}

func (e unanswered) Error() string { return "read answer: " + e.err.Error() }
func (e unanswered) Unwrap() error { return e.err }

// malformed tells an error of http.ReadResponse that comes from what the
// instance sent from one that comes from the connection: its end, its
// deadline, or a failure of the socket.
func malformed(err error) bool {
	var ne net.Error
	return !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) &&
		!errors.Is(err, ErrResponseHeadTooLarge) && !errors.Is(err, net.ErrClosed) && !errors.As(err, &ne)
}

// body is an answer's body. Read to its end, it gives its connection back
// for the next call; closed early, or after an error, it closes it.
type body struct {
	rc       io.ReadCloser
	t        *transport
	c        *conn
	resp     *http.Response
	stop     func() bool
	writeErr chan error
	done     bool
	eof      bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

// Close ends the call on this connection.
func (b *body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.rc.Close()
	stopped := b.stop() // false when the context already broke the connection
	var werr error
	select {
	case werr = <-b.writeErr:
	default:
		// The answer is complete while the request still streams out:
		// the connection cannot carry another call.
		_ = b.c.nc.Close()
		<-b.writeErr //nolint:errcheck // the write ends with the connection: its error says nothing new
		return err
	}
	if b.eof && stopped && werr == nil && err == nil && !b.resp.Close && !b.resp.Request.Close {
		b.t.put(b.c)
		return nil
	}
	_ = b.c.nc.Close() // not reusable: cut short, broken, or asked to close
	return err
}

// upgraded hands the connection of a 101 answer to the caller, reading
// first what the response reader buffered.
type upgraded struct{ c *conn }

func (u upgraded) Read(p []byte) (int, error)  { return u.c.br.Read(p) }
func (u upgraded) Write(p []byte) (int, error) { return u.c.nc.Write(p) }
func (u upgraded) Close() error                { return u.c.nc.Close() }

// Conn is a kept-alive connection to an instance for a caller that
// writes the request and reads the answer itself: the gateway's own
// HTTP/1.1 path. One call uses it at a time; end it with Release.
type Conn struct {
	t *transport
	c *conn
	// Reused is true when the connection served an earlier call: a
	// failure before any answer may then be the instance having closed
	// it while idle, and a request without a body may be sent again.
	Reused bool
	// sentBefore is what had been written on the connection before
	// this call.
	sentBefore int64
}

// Sent reports whether any byte of this call reached the connection. A
// call of which none did cannot have reached the function, and may be
// sent again whatever its body.
func (c *Conn) Sent() bool { return c.c.sent > c.sentBefore }

// Conn returns a connection to the instance, idle or new; a new one is
// dialled by the deadline.
func (i *Instance) Conn(deadline time.Time) (*Conn, error) {
	c, reused, err := i.transport.getBy(deadline)
	if err != nil {
		return nil, err
	}
	return &Conn{t: i.transport, c: c, Reused: reused, sentBefore: c.sent}, nil
}

// Reader returns the connection's buffered reader. While the head of an
// answer is read (see LimitHead), it stops at MaxResponseHeadBytes with
// ErrResponseHeadTooLarge.
func (c *Conn) Reader() *bufio.Reader { return c.c.br }

// Writer returns the connection's buffered writer.
func (c *Conn) Writer() *bufio.Writer { return c.c.bw }

// LimitHead turns the limit on the answer's head on or off. What the
// reader already holds counts against it.
func (c *Conn) LimitHead(on bool) {
	c.c.head.on = on
	if on {
		c.c.head.left = MaxResponseHeadBytes - c.c.br.Buffered()
	}
}

// SetDeadline bounds the connection's reads and writes; a time in the
// past breaks the pending ones at once.
func (c *Conn) SetDeadline(t time.Time) error { return c.c.nc.SetDeadline(t) }

// Raw returns the connection itself, for an upgraded exchange: read
// first what Reader buffered.
func (c *Conn) Raw() net.Conn { return c.c.nc }

// Release ends the call on the connection: it is kept for the next call
// when reusable, and closed otherwise.
func (c *Conn) Release(reusable bool) {
	if reusable && c.c.nc.SetDeadline(time.Time{}) == nil {
		c.t.put(c.c)
		return
	}
	_ = c.c.nc.Close() // not reusable: nothing to report
}

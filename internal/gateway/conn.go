package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerpub/containerpub/internal/pool"
)

// ConnServer serves the backend's connections. A connection whose
// requests are plain calls to functions (wire.go says which) is served
// on the gateway's own HTTP/1.1 path: it parses the call's head, writes
// it to the instance and copies the answer back, on one goroutine, with
// none of net/http's per-request machinery. At the first request that
// is anything else (the API, a body of unknown length, an upgrade, a
// malformed head) the connection, with what was read of it, is handed
// to net/http's server for the rest of its life, and a call on it then
// goes through Gateway.ServeHTTP. Both paths make the same call.
type ConnServer struct {
	g    *Gateway
	srv  *http.Server
	http *handoffListener
	opts ConnOptions
	log  *slog.Logger
	// base is the context of every call on the own path; it ends when
	// the server is closed.
	base   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*wireConn]struct{}
	closing atomic.Bool
	// cut is set by Close: calls in progress are broken off.
	cut atomic.Bool
	wg  sync.WaitGroup
}

// ConnOptions bound the connections of a ConnServer.
type ConnOptions struct {
	// IdleTimeout is how long a kept-alive connection waits for its next
	// request; zero is no limit.
	IdleTimeout time.Duration
	// HeaderTimeout is how long a request's head may take once its first
	// byte came, and how long a new connection waits for its first
	// request; zero is no limit.
	HeaderTimeout time.Duration
}

// deadline returns the deadline d from now, or none for zero.
func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// NewConnServer returns a server of calls through g that hands other
// requests to srv, whose own settings then apply to them.
func NewConnServer(g *Gateway, srv *http.Server, opts ConnOptions) *ConnServer {
	// A request on net/http's path carries its connection, so that a
	// call waiting for a slot can see its caller leave (watch.go).
	prev := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prev != nil {
			ctx = prev(ctx, c)
		}
		if h, ok := c.(*handedConn); ok {
			c = h.Conn
		}
		return context.WithValue(ctx, callerConnKey{}, c)
	}
	base, cancel := context.WithCancel(context.Background())
	return &ConnServer{
		g: g, srv: srv, opts: opts, log: g.log, base: base, cancel: cancel,
		conns: make(map[*wireConn]struct{}),
	}
}

// Serve accepts connections on ln until it is closed, then returns
// http.ErrServerClosed if Shutdown or Close closed it.
func (s *ConnServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.http = newHandoffListener(ln.Addr())
	s.mu.Unlock()
	if s.closing.Load() {
		return http.ErrServerClosed
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.srv.Serve(s.http) }()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors, say: wait a little, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "error", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			_ = s.http.Close() // ends srv.Serve too
			return errors.Join(fmt.Errorf("accept: %w", err), ignoreClosed(<-httpDone))
		}
		delay = 0
		c := s.newConn(nc)
		if c == nil {
			_ = nc.Close() // shutting down
			continue
		}
		go c.serve()
	}
}

// ignoreClosed drops the error net/http's Serve returns after a close.
func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops taking requests: idle connections close at once, those
// in a call after it, and net/http's connections as its Shutdown does.
// It returns when all are closed, or with ctx's error.
func (s *ConnServer) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Shutdown(ctx) }()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// A connection may turn idle after a look: look again until all
		// are gone.
		s.wakeIdle()
		select {
		case <-done:
			return <-errc
		case <-ctx.Done():
			return errors.Join(ctx.Err(), <-errc)
		case <-tick.C:
		}
	}
}

// Close cuts every connection at once and breaks off the calls on them;
// it waits up to closeWait for them to be recorded.
func (s *ConnServer) Close() error {
	s.stopAccepting()
	s.cut.Store(true)
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.nc.Close() // the call's goroutine finds it closed
		c.breakCall()
	}
	s.mu.Unlock()
	err := s.srv.Close()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
	}
	return err
}

// closeWait bounds how long Close waits for the calls it broke off to
// end: instanceFailure may wait up to two seconds for an exit reason.
const closeWait = 3 * time.Second

// stopAccepting closes the listener: Serve returns.
func (s *ConnServer) stopAccepting() {
	s.closing.Store(true)
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close() // Serve's accept ends with it; nothing else to report
	}
}

// aLongTimeAgo is a deadline in the past, which breaks pending reads and
// writes at once.
var aLongTimeAgo = time.Unix(1, 0)

func (s *ConnServer) wakeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			_ = c.nc.SetReadDeadline(aLongTimeAgo)
		}
	}
}

func (s *ConnServer) newConn(nc net.Conn) *wireConn {
	c := &wireConn{s: s, nc: nc}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

func (s *ConnServer) forget(c *wireConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// wireConn is one connection on the gateway's own path.
type wireConn struct {
	s  *ConnServer
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
	// idle is set while the connection waits for its next request.
	idle atomic.Bool
	// clientIP is the caller's address, for X-Forwarded-For.
	clientIP string
	// head holds the current request's head; req is parsed from it.
	head []byte
	req  requestHead
	// body holds the current request's body, once bodyRead.
	body     []byte
	bodyRead bool
	// callID is the current call's request id, once it has one.
	callID string
	// resp is the current answer's head, parsed from respHead.
	respHead []byte
	resp     responseHead
	// out builds the head sent to the instance.
	out []byte

	// The watch of the caller during a call (watch.go).
	watchTimer *time.Timer
	watchState atomic.Int32
	watchDone  chan struct{}
	// gone is set when the caller hung up during the call.
	gone atomic.Bool
	// mu guards up and cancelWait, which a watcher or Close may use.
	mu sync.Mutex
	// up is the instance connection of the call in progress.
	up *pool.Conn
	// cancelWait ends the call's wait for a slot.
	cancelWait context.CancelFunc
}

// maxKeptBuffer is the largest per-call buffer a connection keeps
// between calls: larger ones, made for a large head or body, go.
const maxKeptBuffer = 16 << 10

// Buffer sizes of a connection on the own path, held while it lives,
// as net/http's are. The reader holds a whole request head: one that
// does not fit goes to net/http, whose limit is higher. Writes larger
// than the writer's buffer bypass it.
const (
	wireReadBuffer  = 8 << 10
	wireWriteBuffer = 4 << 10
)

func (c *wireConn) serve() {
	handedOff := false
	defer func() {
		if p := recover(); p != nil {
			c.s.log.Error("panic serving a connection", "panic", p, "stack", string(debug.Stack()))
		}
		if !handedOff {
			_ = c.nc.Close() // the caller learns of it from the closed connection
		}
		c.s.forget(c)
	}()
	c.br = bufio.NewReaderSize(c.nc, wireReadBuffer)
	c.bw = bufio.NewWriterSize(c.nc, wireWriteBuffer)
	if host, _, err := net.SplitHostPort(c.nc.RemoteAddr().String()); err == nil {
		c.clientIP = host
	}
	c.watchDone = make(chan struct{}, 1)
	c.watchTimer = time.AfterFunc(time.Hour, c.watch)
	c.watchTimer.Stop()
	defer c.watchTimer.Stop()
	// A new connection's first request is due within the head's time, as
	// on net/http's server; later ones within the idle time.
	wait := c.s.opts.HeaderTimeout
	for first := true; ; first = false {
		c.idle.Store(true)
		if c.s.closing.Load() {
			return
		}
		if !first {
			wait = c.s.opts.IdleTimeout
			c.trimBuffers()
		}
		_ = c.nc.SetReadDeadline(deadline(wait)) // a closed connection fails the read below
		if _, err := c.br.Peek(1); err != nil {
			return // closed, idle too long, or shutting down
		}
		c.idle.Store(false)
		n, ok := c.readHead()
		if n < 0 {
			return // the caller is gone or too slow
		}
		if ok {
			head, _ := c.br.Peek(n) // buffered: cannot fail
			c.head = append(c.head[:0], head...)
			_, _ = c.br.Discard(n) // already buffered: cannot fail
			ok = parseRequestHead(c.head, &c.req)
			if !ok {
				// Put the head back in front of the rest for net/http.
				c.br = prepend(c.head, c.br)
			}
		}
		if !ok {
			handedOff = c.handOff()
			return
		}
		if !c.s.g.serveWire(c) || c.req.close {
			return
		}
	}
}

// readHead waits until the buffered bytes hold a request head. It
// returns its length and true for a head that may be a plain call, false
// when net/http is to take the connection, and -1 when reading failed.
func (c *wireConn) readHead() (int, bool) {
	next := 0
	for waited := false; ; waited = true {
		buf, _ := c.br.Peek(c.br.Buffered()) // buffered: cannot fail
		n, from := scanRequestHead(buf, next)
		switch n {
		case headNotPlain:
			return 0, false
		case headIncomplete:
			if len(buf) == c.br.Size() {
				return 0, false // a long head: net/http's limits apply
			}
			if !waited {
				// The head came in parts: the rest of it has a bound.
				_ = c.nc.SetReadDeadline(deadline(c.s.opts.HeaderTimeout)) // a closed connection fails the read
			}
			next = from
			if _, err := c.br.Peek(len(buf) + 1); err != nil {
				if len(buf) > 0 && errors.Is(err, io.EOF) {
					return 0, false // a partial request: net/http answers it
				}
				return -1, false
			}
		default:
			return n, true
		}
	}
}

// trimBuffers lets go of per-call buffers a large call grew.
func (c *wireConn) trimBuffers() {
	if cap(c.respHead) > maxKeptBuffer {
		c.respHead = nil
	}
	if cap(c.body) > maxKeptBuffer {
		c.body = nil
	}
	if cap(c.out) > maxKeptBuffer {
		c.out = nil
	}
}

// handOff gives the connection to net/http's server, with what was read
// of it in front.
func (c *wireConn) handOff() bool {
	_ = c.nc.SetDeadline(time.Time{}) // net/http sets its own
	return c.s.http.give(&handedConn{Conn: c.nc, r: c.br})
}

// prepend returns a reader of head and then of what br holds and reads.
func prepend(head []byte, br *bufio.Reader) *bufio.Reader {
	return bufio.NewReaderSize(io.MultiReader(bytesReader(head), br), wireReadBuffer)
}

func bytesReader(b []byte) io.Reader {
	cp := make([]byte, len(b))
	copy(cp, b)
	return &sliceReader{b: cp}
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// handedConn is a connection handed to net/http: reads come first from
// what the gateway had buffered.
type handedConn struct {
	net.Conn
	r io.Reader
}

func (h *handedConn) Read(p []byte) (int, error) { return h.r.Read(p) }

// CloseWrite lets net/http end its side of a TCP connection gracefully.
func (h *handedConn) CloseWrite() error {
	if cw, ok := h.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// handoffListener is the listener net/http's server serves: it yields
// the connections the gateway hands over.
type handoffListener struct {
	addr   net.Addr
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// give hands c to the server; false, with c closed, once it is closed.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		_ = c.Close() // nobody serves it any more
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

package gateway

import (
	"errors"
	"io"
	"sync"
)

// On net/http's path a caller's hang-up ends its request's context only
// once the request's body has been read to its end: until then net/http
// does not read the connection in the background. A call with a body
// that waits in the queue has not been read yet, so its caller could
// hang up unseen and hold a place in the queue until the queue timeout,
// while callers still there were refused. While such a call waits, a
// readAhead reads its body: a caller that hangs up in the middle of it
// shows as a read error, and one that hangs up after sending all of it
// is seen by net/http, whose background read starts at the body's end.
// A body that is not well formed shows as a read error too: the call is
// then refused with a 400 at once (call.bodyFailed). A caller that
// waits for 100 Continue before sending its body is not read ahead: that
// would ask for a body the call may never use.

// readAheadLimit bounds what a waiting call's body is read ahead: a
// queue of a thousand calls holds at most 64 MiB. A longer body waits
// unread past it; so does one whose caller waits for 100 Continue. Their
// callers are watched by watchCaller instead, which sees a caller leave
// as long as what it sent fits in the connection's receive buffer: past
// that, its close waits behind its unsent bytes and cannot reach the
// backend until the body is read.
//
// TODO(#3): see the hang-up of a caller who sent more than the read
// ahead and the receive buffer hold while its call waits (for example by
// spooling the body to disk), instead of when its call gets a slot.
const readAheadLimit = 64 << 10

// readAhead is a request body read ahead in the background up to
// readAheadLimit bytes, or to its end or a read error if that comes
// first. It is read as the body itself: what was read ahead first, then
// the rest, read on demand.
type readAhead struct {
	src io.ReadCloser
	// failed is called, on the background goroutine, when reading src
	// fails before its end: the caller has gone, stalled, or sent a
	// malformed body.
	failed func(error)
	// full is called, on the background goroutine, when the read ahead
	// stops at readAheadLimit before it has seen the body's end.
	full func()

	mu   sync.Mutex
	cond sync.Cond
	buf  []byte // read ahead and not yet consumed
	err  error  // what ended the read ahead: io.EOF or a failure
	// running is true while the background goroutine reads src.
	running bool
}

// newReadAhead starts reading src ahead.
func newReadAhead(src io.ReadCloser, failed func(error), full func()) *readAhead {
	ra := &readAhead{src: src, failed: failed, full: full, running: true}
	ra.cond.L = &ra.mu
	go ra.fill()
	return ra
}

// fill reads src until readAheadLimit bytes are waiting, the body ends,
// or reading fails.
func (ra *readAhead) fill() {
	chunk := make([]byte, 16<<10)
	var err error
	atLimit := false
	for err == nil {
		ra.mu.Lock()
		room := readAheadLimit - len(ra.buf)
		ra.mu.Unlock()
		if room <= 0 {
			atLimit = true
			break
		}
		var n int
		n, err = ra.src.Read(chunk[:min(room, len(chunk))])
		ra.mu.Lock()
		ra.buf = append(ra.buf, chunk[:n]...)
		ra.cond.Broadcast()
		ra.mu.Unlock()
	}
	ra.mu.Lock()
	ra.err = err
	ra.running = false
	ra.cond.Broadcast()
	ra.mu.Unlock()
	if err != nil && !errors.Is(err, io.EOF) && ra.failed != nil {
		ra.failed(err)
	}
	if atLimit && ra.full != nil {
		ra.full()
	}
}

// Read returns what was read ahead, then reads src itself.
func (ra *readAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	ra.mu.Lock()
	for len(ra.buf) == 0 && ra.running {
		ra.cond.Wait()
	}
	if len(ra.buf) > 0 {
		n := copy(p, ra.buf)
		ra.buf = ra.buf[n:]
		if len(ra.buf) == 0 {
			ra.buf = nil // lets the read-ahead go
		}
		ra.mu.Unlock()
		return n, nil
	}
	err := ra.err
	ra.mu.Unlock()
	if err != nil {
		return 0, err
	}
	// The read ahead stopped at its limit: the rest comes straight
	// from src, read on this goroutine alone.
	return ra.src.Read(p)
}

// Close closes src. A background read in progress ends with it.
func (ra *readAhead) Close() error { return ra.src.Close() }

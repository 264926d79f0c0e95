package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/containerpub/containerpub/internal/pool"
)

// On the own path the caller's connection is not read while a call runs,
// so a caller that hangs up would go unnoticed until its answer is
// written: its call would wait in the queue, hold its slot and keep the
// function working for nobody. net/http reads every connection in the
// background for that, at the price of a goroutine and a system call per
// request. Here a call that is still running after watchDelay starts a
// watcher that reads the caller's connection; if the caller hangs up, the
// call's wait for a slot ends, and so does its exchange with the
// instance, which sees its connection close. Calls that end sooner, most
// of them, pay for a timer reset.

// watchDelay is how long a call runs before its caller is watched.
const watchDelay = 10 * time.Millisecond

// States of a connection's watcher.
const (
	watchOff      = iota // no call is being watched
	watchArmed           // the timer runs
	watchRunning         // the watcher reads the caller's connection
	watchStopping        // the call is over: the watcher is being stopped
	watchFinished        // the watcher has returned on its own
)

// armWatch starts the watch timer for the call in progress.
func (wc *wireConn) armWatch() {
	wc.gone.Store(false)
	wc.watchState.Store(watchArmed)
	wc.watchTimer.Reset(watchDelay)
}

// disarmWatch ends the watch of the call in progress and waits for the
// watcher, if it ran, to have stopped reading the caller's connection.
func (wc *wireConn) disarmWatch() {
	switch {
	case wc.watchState.CompareAndSwap(watchArmed, watchOff):
		wc.watchTimer.Stop()
		return
	case wc.watchState.CompareAndSwap(watchRunning, watchStopping):
		_ = wc.nc.SetReadDeadline(aLongTimeAgo) // ends the watcher's read; a closed connection has ended it already
	}
	if wc.watchState.Load() != watchOff {
		<-wc.watchDone
		wc.watchState.Store(watchOff)
	}
}

// watch is the watcher: it runs on the timer's goroutine.
func (wc *wireConn) watch() {
	if !wc.watchState.CompareAndSwap(watchArmed, watchRunning) {
		return // the call ended first
	}
	_, err := wc.br.Peek(1)
	// Data (a next request) leaves nothing to watch; the caller's read
	// deadline is the call's own, not a hang-up.
	hungUp := err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	if wc.watchState.CompareAndSwap(watchRunning, watchFinished) && hungUp {
		wc.callerGone()
	}
	wc.watchDone <- struct{}{}
}

// callerGone ends the call of a caller that hung up.
func (wc *wireConn) callerGone() {
	wc.gone.Store(true)
	wc.breakCall()
}

// breakCall ends the call in progress: its wait for a slot, and its
// exchange with the instance. It holds mu meanwhile, so that the
// instance connection cannot go back to the pool broken.
func (wc *wireConn) breakCall() {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.cancelWait != nil {
		wc.cancelWait()
	}
	if wc.up != nil {
		_ = wc.up.SetDeadline(aLongTimeAgo) // breaks the exchange; a closed connection is broken already
	}
}

// setUp records the instance connection of the call in progress, so that
// a hang-up or Close can break it.
func (wc *wireConn) setUp(up *pool.Conn) {
	wc.mu.Lock()
	wc.up = up
	wc.mu.Unlock()
	if up != nil && (wc.gone.Load() || wc.s.cut.Load()) {
		_ = up.SetDeadline(aLongTimeAgo) // the caller left, or the server is closing
	}
}

// setCancelWait records how to end the call's wait for a slot.
func (wc *wireConn) setCancelWait(cancel context.CancelFunc) {
	wc.mu.Lock()
	wc.cancelWait = cancel
	wc.mu.Unlock()
	if cancel != nil && (wc.gone.Load() || wc.s.cut.Load()) {
		cancel()
	}
}

// On net/http's path, a call waiting for a slot whose body is not read
// to its end (readahead.go) is watched by the state of its caller's TCP
// connection instead.

// callerConnKey is the context key of the caller's connection on
// net/http's path (NewConnServer).
type callerConnKey struct{}

// The connection of a call waiting for a slot is checked for its caller
// having left first after firstCallerWatch, then at twice the interval
// each time up to maxCallerWatch: a long queue of long waits costs about
// one check per waiting call a second.
const (
	firstCallerWatch = 50 * time.Millisecond
	maxCallerWatch   = time.Second
)

// watchCaller calls gone once the caller of r closes or resets its
// connection, checking until ctx ends. It reads the state the kernel
// keeps for the connection (TCP_INFO), not the connection itself, so it
// sees a caller leave even behind body bytes nobody has read, and takes
// nothing from the connection. Like net/http's own watch, it takes a
// caller that closed its side of the connection for one that left.
// Connections that are not TCP are not watched.
func watchCaller(ctx context.Context, r *http.Request, gone func()) {
	tc, ok := r.Context().Value(callerConnKey{}).(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	go func() {
		every := firstCallerWatch
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if peerLeft(raw) {
				gone()
				return
			}
			every = min(2*every, maxCallerWatch)
			t.Reset(every)
		}
	}()
}

// peerLeft reports whether the peer of a TCP connection has closed or
// reset it.
func peerLeft(raw syscall.RawConn) bool {
	var info *unix.TCPInfo
	var err error
	if cerr := raw.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); cerr != nil {
		return true // closed on this side already
	}
	return err == nil && info.State != tcpEstablished
}

// tcpEstablished is Linux's TCP_ESTABLISHED state of tcp_info: any later
// state of a connection this side has not closed means the peer closed
// (CLOSE_WAIT) or reset (CLOSE) it.
const tcpEstablished = 1

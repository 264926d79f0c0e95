package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/auth"
	"github.com/containerpub/containerpub/internal/pool"
)

// This file is a call on the gateway's own HTTP/1.1 path (conn.go): the
// same call as Gateway.Call makes through net/http, with the same
// answers, limits and records, written against the connection itself.

// callerError is a failure reading from or writing to the caller.
type callerError struct{ err error }

func (e callerError) Error() string { return "caller: " + e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// serveWire serves the call whose head wc.req holds. It returns false
// when the connection cannot carry another request.
func (g *Gateway) serveWire(wc *wireConn) bool {
	h, b := &wc.req, wc.head
	wc.bodyRead = false
	wc.callID = ""
	name, rawPath, query := splitWireTarget(h.target.of(b))
	ctx := wc.s.base
	t, err := g.resolver.Resolve(ctx, name)
	if err != nil {
		ew := newErrorWriter()
		g.resolveError(ew, name, err)
		return wc.answer(ew, true)
	}
	cfg := t.Pool.Deployment().Config
	stripAuth := false
	if !cfg.Public {
		r := &http.Request{Header: http.Header{"Authorization": wc.values(hdrAuth)}}
		user, err := g.auth.Authenticate(ctx, r)
		if err != nil || user != t.OwnerID {
			ew := newErrorWriter()
			writeError(ew, http.StatusUnauthorized,
				fmt.Sprintf("function %s is private: call it with its owner's token", name))
			return wc.answer(ew, true)
		}
		stripAuth = true
	}
	callerID := ""
	if h.hasRequestID {
		callerID = string(h.requestID.of(b))
	}
	c := g.newCall(string(h.method.of(b)), callerID, t, rawPath, stripAuth)
	wc.callID = c.exec.RequestID
	deadline := c.exec.StartedAt.Add(cfg.Limits.Timeout.D())
	c.ctx, c.deadline = ctx, deadline
	// The body is read whole before the call takes a slot, within the
	// call's time; the caller's writes end a little after the call's
	// deadline, as on net/http's path, so that a deaf caller cannot hold
	// the slot.
	_ = wc.nc.SetReadDeadline(deadline)                   // a closed connection fails the read below
	_ = wc.nc.SetWriteDeadline(deadline.Add(callerGrace)) // and the writes
	if err := wc.readBody(); err != nil {
		if !time.Now().Before(deadline) {
			ew := newErrorWriter()
			c.timeout(ew)
			g.endEarly(wc, c, ew, false) // the body's rest is not waited for
			return false
		}
		// The call never reached an instance: refused, as on net/http's
		// path for a call that waited for a slot.
		c.exec.Status = client.ExecutionRejected
		c.exec.Error = "caller went away while sending the body"
		g.rec.RecordExecution(c.finish(g.now()))
		return false
	}
	c.requestBytes.Store(int64(len(wc.body)))
	if int64(len(wc.body)) > c.maxRequest {
		ew := newErrorWriter()
		c.reject(ew, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"request body of %d bytes is over the limit of %d KiB of function %s",
			len(wc.body), cfg.Limits.MaxRequestKB, t.Name))
		return g.endEarly(wc, c, ew, true)
	}

	// From here the caller is watched for hanging up (watch.go).
	wc.armWatch()
	defer wc.disarmWatch()
	// A free slot is taken at once; only a call that has to wait for one
	// needs a context that ends at its deadline.
	lease := t.Pool.TryAcquire(c.exec.RequestID)
	if lease == nil {
		actx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		wc.setCancelWait(cancel)
		lease, err = g.acquire(actx, c)
		wc.setCancelWait(nil)
		if err != nil {
			ew := newErrorWriter()
			g.acquireError(ew, c, err)
			return g.endEarly(wc, c, ew, true)
		}
	}
	c.lease = lease
	c.exec.InstanceID = lease.Instance().Name()
	c.exec.DeploymentID = c.target.Pool.Deployment().DeploymentID
	c.exec.ColdStart = lease.Cold

	defer func() {
		if p := recover(); p != nil {
			// A bug, not the caller or the function: the slot must still
			// come back, and the instance is not to be trusted.
			wc.releaseUp(false)
			c.exec.Status = client.ExecutionError
			c.exec.Error = "platform error"
			lease.Release(true, c.finish(g.now()))
			panic(p)
		}
		exec := c.finish(g.now())
		if c.callerGone && !c.broken && lease.Exclusive() {
			// As on net/http's path: the slot stays taken until the
			// function is done with the call.
			go releaseWhenDone(lease, exec, deadline)
		} else {
			lease.Release(c.broken, exec)
		}
	}()
	return g.exchange(wc, c, query, deadline)
}

// endEarly records a call that ended before it reached an instance, with
// the answer ew, and writes that answer; keep is answer's.
func (g *Gateway) endEarly(wc *wireConn, c *call, ew *errorWriter, keep bool) bool {
	c.exec.ResponseBytes = int64(ew.body.Len())
	g.rec.RecordExecution(c.finish(g.now()))
	return wc.answer(ew, keep)
}

// splitWireTarget splits a call's request target, as sent, into the
// function's name, the escaped path the function sees, and the query.
func splitWireTarget(target []byte) (name, rawPath, query string) {
	p, q, _ := bytes.Cut(target, []byte("?"))
	rest := p[len("/f/"):]
	escName, sub, _ := bytes.Cut(rest, []byte("/"))
	name, err := url.PathUnescape(string(escName))
	if err != nil {
		name = string(escName)
	}
	return name, "/" + string(sub), string(q)
}

// values returns the values of the request's headers of a kind.
func (wc *wireConn) values(kind uint8) []string {
	var vs []string
	for _, l := range wc.req.lines {
		if l.kind == kind {
			vs = append(vs, string(l.value.of(wc.head)))
		}
	}
	return vs
}

// readBody reads the request's body, whose length the head gave.
func (wc *wireConn) readBody() error {
	n := int(wc.req.contentLength)
	if cap(wc.body) < n {
		wc.body = make([]byte, n)
	}
	wc.body = wc.body[:n]
	if _, err := io.ReadFull(wc.br, wc.body); err != nil {
		return callerError{err}
	}
	wc.bodyRead = true
	return nil
}

// answer writes an answer the gateway made itself and reports whether
// the connection may go on.
func (wc *wireConn) answer(ew *errorWriter, keep bool) bool {
	if ew.status == 0 || wc.gone.Load() || wc.s.cut.Load() {
		return false // nobody to answer: the caller left, or the server closes
	}
	if wc.callID != "" {
		ew.h.Set(client.RequestIDHeader, wc.callID)
	}
	if keep && !wc.bodyRead && wc.req.contentLength > 0 {
		// The body was not needed; it is read, within the head's time,
		// so that the next request can follow.
		_ = wc.nc.SetReadDeadline(time.Now().Add(wc.s.opts.HeaderTimeout)) // a closed connection fails the read
		if wc.readBody() != nil {
			keep = false
		}
	}
	if wc.nc.SetWriteDeadline(time.Now().Add(finalWriteGrace)) != nil {
		return false
	}
	keep = keep && !wc.s.closing.Load()
	ew.writeTo(wc.bw, wc.req.close || !keep)
	return wc.bw.Flush() == nil && keep
}

// exchange sends the call to the leased instance and copies its answer
// to the caller. It returns false when the caller's connection cannot
// carry another request.
func (g *Gateway) exchange(wc *wireConn, c *call, query string, deadline time.Time) bool {
	inst := c.lease.Instance()
	var up *pool.Conn
	var err error
	for attempt := 0; ; attempt++ {
		up, err = inst.Conn(deadline)
		if err != nil {
			break
		}
		_ = up.SetDeadline(deadline) // a closed connection fails the I/O below
		wc.setUp(up)
		var answered bool
		answered, err = g.send(wc, c, up, query)
		if err == nil {
			break
		}
		reused, sent := up.Reused, up.Sent()
		wc.releaseUp(false)
		up = nil
		// The instance may have closed a connection that sat idle just
		// as the call went out: the call may go again, once, on a new
		// one, by the rule of net/http's path (pool.SendAgain); the body
		// is in memory, so even a call with one may.
		if !reused || answered || attempt > 0 ||
			!pool.SendAgain(c.exec.Method, len(wc.body) > 0, sent) ||
			!time.Now().Before(deadline) || wc.gone.Load() || wc.s.cut.Load() {
			break
		}
	}
	if err != nil {
		if wc.cutShort(c) {
			return false
		}
		ew := g.wireFailure(c, err)
		c.exec.ResponseBytes = int64(ew.body.Len())
		return wc.answer(ew, true)
	}
	keep, err := g.forward(wc, c)
	if err != nil {
		wc.releaseUp(false)
		g.wireAborted(wc, c, err)
		// What was forwarded still goes out, so that the caller of a
		// streamed answer keeps what it got; the connection's end then
		// breaks the answer off. (net/http's path sends what it had
		// flushed: a chunked answer as far as it came, but nothing of a
		// short answer with a length, which it buffers.)
		var ce callerError
		if !errors.As(err, &ce) && !wc.gone.Load() && !wc.s.cut.Load() {
			_ = wc.nc.SetWriteDeadline(time.Now().Add(finalWriteGrace)) // a closed connection fails the flush
			_ = wc.bw.Flush()                                           // best effort: the connection ends next
		}
		return false
	}
	return keep
}

// cutShort records a call that ended because its caller hung up or the
// server closed, and reports whether it did. Nobody is answered then,
// and the instance is not to blame.
func (wc *wireConn) cutShort(c *call) bool {
	switch {
	case wc.gone.Load():
		c.callerGone = true
		c.exec.Status = client.ExecutionError
		c.exec.Error = "caller went away"
	case wc.s.cut.Load():
		c.exec.Status = client.ExecutionError
		c.exec.Error = "call cut short: the backend stopped"
	default:
		return false
	}
	return true
}

// releaseUp ends the call's use of its instance connection: kept for the
// next call when reusable, closed otherwise.
func (wc *wireConn) releaseUp(reusable bool) {
	wc.mu.Lock()
	up := wc.up
	wc.up = nil
	wc.mu.Unlock()
	if up != nil {
		up.Release(reusable)
	}
}

// send writes the request to the instance and reads its answer's head
// into wc.resp. answered reports whether any of the answer came.
func (g *Gateway) send(wc *wireConn, c *call, up *pool.Conn, query string) (answered bool, err error) {
	wc.out = wc.buildRequest(wc.out[:0], c, query)
	w := up.Writer()
	_, _ = w.Write(wc.out) // a write error sticks: Flush reports it
	_, _ = w.Write(wc.body)
	if err := w.Flush(); err != nil {
		return false, err
	}
	up.LimitHead(true)
	defer up.LimitHead(false)
	for {
		wc.respHead, err = readResponseHead(up.Reader(), wc.respHead[:0])
		answered = answered || len(wc.respHead) > 0
		if err != nil {
			return answered, err
		}
		if err := parseResponseHead(wc.respHead, &wc.resp); err != nil {
			return true, err
		}
		switch {
		case wc.resp.status == http.StatusSwitchingProtocols:
			return true, fmt.Errorf("%w: switched protocols unasked", errBadAnswer)
		case wc.resp.status >= 200:
			return true, nil
		}
		// An informational answer before the final one: passed over.
	}
}

// buildRequest appends the head of the request to the instance to dst:
// the caller's method, path and query as sent, its headers but the
// hop-by-hop and the gateway's own, the forwarding headers and the
// call's request id.
func (wc *wireConn) buildRequest(dst []byte, c *call, query string) []byte {
	b := wc.head
	h := &wc.req
	dst = append(dst, h.method.of(b)...)
	dst = append(dst, ' ')
	// The path as sent, unless it holds characters a URL escapes (such
	// as braces): then escaped, as net/http's path sends it.
	dst = append(dst, (&url.URL{Path: c.path, RawPath: c.rawPath}).EscapedPath()...)
	if query != "" {
		dst = append(dst, '?')
		dst = append(dst, query...)
	}
	dst = append(dst, " HTTP/1.1\r\n"...)
	stripAuth := c.stripAuth
	if !stripAuth {
		for _, l := range h.lines {
			if l.kind == hdrAuth && bytes.Contains(l.value.of(b), []byte(auth.TokenPrefix)) {
				stripAuth = true // the platform's token is not the function's
			}
		}
	}
	for _, l := range h.lines {
		switch l.kind {
		case hdrDrop, hdrRequestID:
			continue
		case hdrAuth:
			if stripAuth {
				continue
			}
		}
		dst = appendHeader(dst, l.name.of(b), l.value.of(b))
	}
	if wc.clientIP != "" {
		dst = appendHeaderString(dst, "X-Forwarded-For", wc.clientIP)
	}
	dst = appendHeader(dst, []byte("X-Forwarded-Host"), h.host.of(b))
	dst = appendHeaderString(dst, "X-Forwarded-Proto", "http")
	dst = appendHeaderString(dst, client.RequestIDHeader, c.exec.RequestID)
	return append(dst, "\r\n"...)
}

func appendHeader(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

func appendHeaderString(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// readResponseHead appends the head of an answer from br to dst, up to
// and with its empty line.
func readResponseHead(br *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		dst = append(dst, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // a line longer than the buffer: read on
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(dst) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
		n := len(dst)
		if n == len(line) && (n == 1 || n == 2 && dst[0] == '\r') {
			return dst, nil // an empty first line: not an answer
		}
		if bytes.HasSuffix(dst, []byte("\n\n")) || bytes.HasSuffix(dst, []byte("\n\r\n")) {
			return dst, nil
		}
	}
}

// forward copies the answer whose head wc.resp holds to the caller, and
// gives the instance's connection back when it can serve another call.
// It returns whether the caller's connection may go on; on an error the
// answer broke off and the caller's connection is to be closed.
func (g *Gateway) forward(wc *wireConn, c *call) (bool, error) {
	resp := &wc.resp
	up := wc.up
	hasBody := responseHasBody(wc.req.method.of(wc.head), resp.status)
	if hasBody && resp.contentLength > c.maxResponse {
		c.responseTooLarge = true
		wc.releaseUp(false)
		ew := newErrorWriter()
		c.fail(ew, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"response body is over the limit of %d KiB of function %s",
			c.target.Pool.Deployment().Config.Limits.MaxResponseKB, c.target.Name))
		c.exec.ResponseBytes = int64(ew.body.Len())
		return wc.answer(ew, true), nil
	}
	chunkOut := hasBody && resp.contentLength < 0
	wc.writeResponseHead(c, chunkOut)
	c.exec.HTTPStatus = resp.status
	var err error
	reusable := !resp.close
	switch {
	case !hasBody:
		err = wc.bw.Flush()
		if err != nil {
			err = callerError{err}
		}
	case resp.chunked:
		err = g.copyChunked(wc, c, up)
	case resp.contentLength >= 0:
		err = g.copyLength(wc, c, up.Reader(), resp.contentLength)
	default:
		// Delimited by the instance closing the connection.
		reusable = false
		err = g.copyToEOF(wc, c, up.Reader())
	}
	if err != nil {
		return false, err
	}
	wc.releaseUp(reusable)
	return true, nil
}

// writeResponseHead writes the answer's head to the caller.
func (wc *wireConn) writeResponseHead(c *call, chunked bool) {
	b := wc.respHead
	w := wc.bw
	_, _ = w.WriteString("HTTP/1.1 ") // write errors stick: the flush reports them
	_, _ = w.Write(wc.resp.statusLine.of(b))
	_, _ = w.WriteString("\r\n")
	_, _ = w.Write(appendHeaderString(wc.out[:0], client.RequestIDHeader, c.exec.RequestID))
	// As net/http's server does, an answer that may have no body carries
	// no length, and a 304 no type.
	status := wc.resp.status
	noLength := status == http.StatusNoContent || status == http.StatusNotModified
	for _, l := range wc.resp.lines {
		switch {
		case l.kind == hdrLength && noLength:
		case l.kind == hdrPass && status == http.StatusNotModified && equalFold(l.name.of(b), "content-type"):
		case l.kind == hdrPass || l.kind == hdrLength:
			_, _ = w.Write(appendHeader(wc.out[:0], l.name.of(b), l.value.of(b)))
		}
	}
	if chunked {
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if wc.req.close || wc.s.closing.Load() {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	_, _ = w.WriteString("\r\n")
}

// copyLength copies a body of n bytes from the instance to the caller.
// The caller's writer is flushed whenever the instance has sent nothing
// more yet, so that an answer streamed in parts reaches the caller part
// by part, and a whole answer leaves in one write.
func (g *Gateway) copyLength(wc *wireConn, c *call, src *bufio.Reader, n int64) error {
	for n > 0 {
		if src.Buffered() == 0 && wc.bw.Buffered() > 0 {
			if err := wc.bw.Flush(); err != nil {
				return callerError{err}
			}
		}
		if _, err := src.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		p, _ := src.Peek(int(min(int64(src.Buffered()), n))) // buffered: cannot fail
		if _, err := wc.bw.Write(p); err != nil {
			return callerError{err}
		}
		_, _ = src.Discard(len(p))
		n -= int64(len(p))
		c.exec.ResponseBytes += int64(len(p))
	}
	if err := wc.bw.Flush(); err != nil {
		return callerError{err}
	}
	return nil
}

// copyToEOF copies a body that ends when the instance closes the
// connection, chunked to the caller.
func (g *Gateway) copyToEOF(wc *wireConn, c *call, src *bufio.Reader) error {
	buf := copyBufferPool.Get().(*[copyBufferSize]byte)
	defer copyBufferPool.Put(buf)
	for {
		n, err := src.Read(buf[:])
		if n > 0 {
			if werr := wc.writeChunk(c, buf[:n], src.Buffered() == 0); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return wc.endChunks(nil)
		}
		if err != nil {
			return err
		}
	}
}

// copyChunked copies a chunked body, and its trailers, to the caller.
func (g *Gateway) copyChunked(wc *wireConn, c *call, up *pool.Conn) error {
	src := up.Reader()
	cr := httputil.NewChunkedReader(src)
	buf := copyBufferPool.Get().(*[copyBufferSize]byte)
	defer copyBufferPool.Put(buf)
	for {
		n, err := cr.Read(buf[:])
		if n > 0 {
			if werr := wc.writeChunk(c, buf[:n], src.Buffered() == 0); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	// The trailers follow the last chunk, a head of their own.
	up.LimitHead(true)
	defer up.LimitHead(false)
	trailers, err := readTrailers(src, wc.respHead[:0])
	if err != nil {
		return err
	}
	return wc.endChunks(trailers)
}

// readTrailers reads the trailer section after a last chunk and returns
// its lines but framing ones; a malformed line fails it.
func readTrailers(br *bufio.Reader, dst []byte) ([]byte, error) {
	var out []byte
	for {
		start := len(dst)
		var err error
		dst, err = readLine(br, dst)
		if err != nil {
			return nil, err
		}
		line := bytes.TrimSuffix(dst[start:], []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return out, nil
		}
		if bytes.ContainsAny(line, "\r\n") {
			return nil, fmt.Errorf("%w: bad trailer line", errBadAnswer)
		}
		withEnd := append(line[:len(line):len(line)], '\r', '\n')
		l, ok := parseHeaderLine(withEnd, 0)
		if !ok {
			// As on net/http's path, where a malformed trailer fails the
			// body's read.
			return nil, fmt.Errorf("%w: bad trailer line", errBadAnswer)
		}
		// Framing fields mean nothing in a trailer; they are dropped.
		if !equalFold(l.name.of(withEnd), "transfer-encoding") && !equalFold(l.name.of(withEnd), "content-length") {
			out = append(out, withEnd...)
		}
	}
}

// readLine appends one line of br, with its end, to dst.
func readLine(br *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		dst = append(dst, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return dst, io.ErrUnexpectedEOF
		}
		return dst, err
	}
}

// writeChunk writes p as one chunk to the caller, counting it against
// the response limit, and flushes when idle says the instance has sent
// nothing more yet.
func (wc *wireConn) writeChunk(c *call, p []byte, idle bool) error {
	if c.exec.ResponseBytes+int64(len(p)) > c.maxResponse {
		c.responseTooLarge = true
		return errResponseTooLarge
	}
	c.exec.ResponseBytes += int64(len(p))
	w := wc.bw
	_, _ = w.Write(strconv.AppendInt(wc.out[:0], int64(len(p)), 16)) // errors stick
	_, _ = w.WriteString("\r\n")
	_, _ = w.Write(p)
	if _, err := w.WriteString("\r\n"); err != nil {
		return callerError{err}
	}
	if idle {
		if err := w.Flush(); err != nil {
			return callerError{err}
		}
	}
	return nil
}

// endChunks ends a chunked body with its trailers.
func (wc *wireConn) endChunks(trailers []byte) error {
	_, _ = wc.bw.WriteString("0\r\n") // errors stick
	_, _ = wc.bw.Write(trailers)
	_, _ = wc.bw.WriteString("\r\n")
	if err := wc.bw.Flush(); err != nil {
		return callerError{err}
	}
	return nil
}

// wireFailure answers a call whose instance did not answer: the same
// answers as proxyError on net/http's path.
func (g *Gateway) wireFailure(c *call, err error) *errorWriter {
	ew := newErrorWriter()
	name := c.target.Name
	switch {
	case errors.Is(err, pool.ErrResponseHeadTooLarge):
		c.fail(ew, http.StatusBadGateway, fmt.Sprintf("function %s: %v", name, err))
	case errors.Is(err, errBadAnswer):
		c.broken = true
		c.fail(ew, http.StatusBadGateway, fmt.Sprintf("function %s instance failed: %v", name, err))
	case !time.Now().Before(c.deadline):
		c.timeout(ew)
	default:
		c.broken = true
		reason := instanceFailure(c.deadline, c.lease.Instance())
		if reason == "" {
			reason = "closed the connection without answering: " + err.Error()
		}
		g.log.Warn("call failed", "function", name, "instance", c.exec.InstanceID,
			"request_id", c.exec.RequestID, "reason", reason)
		c.fail(ew, http.StatusBadGateway, fmt.Sprintf("function %s instance failed: %s", name, reason))
	}
	return ew
}

// wireAborted records why an answer broke off after its head was sent:
// the same reasons as aborted on net/http's path.
func (g *Gateway) wireAborted(wc *wireConn, c *call, err error) {
	var ce callerError
	switch {
	case wc.s.cut.Load():
		wc.cutShort(c)
	case c.responseTooLarge:
		c.exec.Status = client.ExecutionError
		c.exec.Error = fmt.Sprintf("response cut at the limit of %d KiB",
			c.target.Pool.Deployment().Config.Limits.MaxResponseKB)
	case !time.Now().Before(c.deadline):
		c.broken = true
		c.exec.Status = client.ExecutionTimeout
		c.exec.Error = fmt.Sprintf("response cut at the timeout of %s",
			c.target.Pool.Deployment().Config.Limits.Timeout)
	case errors.As(err, &ce), wc.gone.Load():
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

// errorWriter is an http.ResponseWriter that keeps an answer the gateway
// makes itself, to write it on the own path.
type errorWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newErrorWriter() *errorWriter { return &errorWriter{h: make(http.Header)} }

func (e *errorWriter) Header() http.Header { return e.h }

func (e *errorWriter) WriteHeader(code int) {
	if e.status == 0 {
		e.status = code
	}
}

func (e *errorWriter) Write(p []byte) (int, error) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	return e.body.Write(p)
}

// writeTo writes the answer, closing the connection after it if asked.
func (e *errorWriter) writeTo(w *bufio.Writer, closeConn bool) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	e.h.Set("Content-Length", strconv.Itoa(e.body.Len()))
	e.h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if closeConn {
		e.h.Set("Connection", "close")
	}
	_, _ = fmt.Fprintf(w, "HTTP/1.1 %03d %s\r\n", e.status, http.StatusText(e.status)) // errors stick: the flush reports them
	_ = e.h.Write(w)
	_, _ = w.WriteString("\r\n")
	_, _ = w.Write(e.body.Bytes())
}

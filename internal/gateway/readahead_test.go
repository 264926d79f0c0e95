package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// TestReadAheadPassesBodies reads bodies shorter and longer than the
// read-ahead limit through a readAhead, in reads of several sizes, and
// wants them byte for byte.
func TestReadAheadPassesBodies(t *testing.T) {
	for _, n := range []int{0, 1, 1000, readAheadLimit - 1, readAheadLimit, readAheadLimit + 1, 5 * readAheadLimit} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i * 7)
		}
		for _, src := range []io.Reader{bytes.NewReader(body), iotest.OneByteReader(bytes.NewReader(body)), iotest.HalfReader(bytes.NewReader(body))} {
			failed := make(chan error, 1)
			full := make(chan struct{}, 1)
			ra := newReadAhead(io.NopCloser(src), func(err error) { failed <- err }, func() { full <- struct{}{} })
			if n > readAheadLimit {
				// The read ahead stops at its limit, and says so, before
				// anyone reads.
				select {
				case <-full:
				case <-time.After(10 * time.Second):
					t.Fatalf("%d bytes: the read ahead did not report its limit", n)
				}
			}
			time.Sleep(time.Millisecond) // lets the read ahead run first, at times
			got, err := io.ReadAll(ra)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%d bytes through a read ahead: %d bytes back, error %v", n, len(got), err)
			}
			if n < readAheadLimit {
				select {
				case <-full:
					t.Fatalf("%d bytes: a body under the limit was reported to reach it", n)
				default:
				}
			}
			select {
			case err := <-failed:
				t.Fatalf("%d bytes: a whole body was reported failed: %v", n, err)
			default:
			}
		}
	}
}

// TestReadAheadReportsFailure wants a body cut off mid-way reported at
// once, before anyone reads it, and its error passed on after the bytes
// that came.
func TestReadAheadReportsFailure(t *testing.T) {
	cut := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(cut))
	failed := make(chan error, 1)
	ra := newReadAhead(io.NopCloser(src), func(err error) { failed <- err }, nil)
	select {
	case err := <-failed:
		if !errors.Is(err, cut) {
			t.Fatalf("reported %v, want %v", err, cut)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cut-off body was not reported")
	}
	got, err := io.ReadAll(ra)
	if string(got) != "partial" || !errors.Is(err, cut) {
		t.Fatalf("read %q, %v; want %q, %v", got, err, "partial", cut)
	}
}

// TestReadAheadStopsAtLimit wants no more than the limit read from a
// body nobody reads, and nothing reported of a body still coming.
func TestReadAheadStopsAtLimit(t *testing.T) {
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write(make([]byte, 3*readAheadLimit)) }()
	failed := make(chan error, 1)
	ra := newReadAhead(pr, func(err error) { failed <- err }, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ra.mu.Lock()
		n, running := len(ra.buf), ra.running
		ra.mu.Unlock()
		if !running {
			if n != readAheadLimit {
				t.Fatalf("read ahead stopped with %d bytes, want %d", n, readAheadLimit)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read ahead still running with %d bytes", n)
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-failed:
		t.Fatalf("a body still coming was reported failed: %v", err)
	default:
	}
	if err := ra.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadTrailers(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "\r\n", want: ""},
		{in: "X-Sum: 1\r\n\r\n", want: "X-Sum: 1\r\n"},
		{in: "X-Sum: 1\nX-Other:  two \n\n", want: "X-Sum: 1\r\nX-Other:  two \r\n"},
		{in: "Content-Length: 3\r\nTransfer-Encoding: x\r\nX-A: b\r\n\r\n", want: "X-A: b\r\n"},
		{in: "no colon\r\n\r\n", bad: true},
		{in: " folded: x\r\n\r\n", bad: true},
		{in: "X-A: b\x00c\r\n\r\n", bad: true},
		{in: "X-A: b\rc\r\n\r\n", bad: true},
		{in: "X-A: b\r\n", bad: true}, // ends before the blank line
	} {
		got, err := readTrailers(bufio.NewReader(strings.NewReader(tc.in)), nil)
		if tc.bad {
			if err == nil {
				t.Errorf("readTrailers(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("readTrailers(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzTrailers wants every trailer section read either refused or
// returned as well-formed header lines.
func FuzzTrailers(f *testing.F) {
	f.Add([]byte("X-Sum: 1\r\n\r\n"))
	f.Add([]byte("Content-Length: 3\r\nX: y\n\r\n"))
	f.Add([]byte("bad\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := readTrailers(bufio.NewReader(bytes.NewReader(in)), nil)
		if err != nil {
			return
		}
		for rest := got; len(rest) > 0; {
			i := bytes.Index(rest, []byte("\r\n"))
			if i < 0 {
				t.Fatalf("trailers %q of %q: a line without CRLF", got, in)
			}
			line := rest[:i+2]
			if _, ok := parseHeaderLine(line, 0); !ok {
				t.Fatalf("trailers %q of %q: malformed line %q", got, in, line)
			}
			rest = rest[i+2:]
		}
	})
}

// TestCallerHungUp wants errors reading a request body that come from the
// connection told from those about what the caller sent: the first are a
// caller gone, the second a 400.
func TestCallerHungUp(t *testing.T) {
	for _, tc := range []struct {
		err  error
		gone bool
	}{
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		{net.ErrClosed, true},
		{errors.New(errTrailerEOF), true},
		{errors.New("invalid byte in chunk length"), false},
		{errors.New("malformed chunked encoding"), false},
		{errors.New("malformed MIME header line: no colon"), false},
	} {
		if got := callerHungUp(tc.err); got != tc.gone {
			t.Errorf("callerHungUp(%v) = %v, want %v", tc.err, got, tc.gone)
		}
	}
}

// TestExpectsContinue wants the Expect values that make net/http's server
// answer 100 Continue, and only those, taken as asking for it.
func TestExpectsContinue(t *testing.T) {
	for _, tc := range []struct {
		expect string
		want   bool
	}{
		{"100-continue", true},
		{"100-Continue", true},
		{"100-continue, foo", true},
		{"foo, 100-continue", true},
		{"foo 100-continue", true},
		{"", false},
		{"foo", false},
		{"100-continued", false},
		{"x100-continue", false},
	} {
		r := &http.Request{Header: http.Header{}}
		if tc.expect != "" {
			r.Header.Set("Expect", tc.expect)
		}
		if got := expectsContinue(r); got != tc.want {
			t.Errorf("expectsContinue(%q) = %v, want %v", tc.expect, got, tc.want)
		}
		// net/http's own reading, through a server that asks for the body.
		if tc.expect != "" {
			if got := serverSends100(t, tc.expect); got != tc.want {
				t.Errorf("net/http's server sends 100 Continue for %q: %v; expectsContinue must agree", tc.expect, got)
			}
		}
	}
}

// serverSends100 reports whether net/http's server answers 100 Continue
// to a request with this Expect value when its handler reads the body.
func serverSends100(t *testing.T, expect string) bool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: "+expect+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.HasPrefix(line, "HTTP/1.1 100")
}

// TestLimitedBodyNotesErrorsAtTheLimit has a body fill the size limit
// exactly and then fail: the failure, not the limit, is the call's fault.
func TestLimitedBodyNotesErrorsAtTheLimit(t *testing.T) {
	bad := errors.New("invalid byte in chunk length")
	c := &call{maxRequest: 4}
	l := &limitedBody{rc: io.NopCloser(io.MultiReader(strings.NewReader("abcd"), iotest.ErrReader(bad))), c: c}
	data, err := io.ReadAll(l)
	if !errors.Is(err, bad) || string(data) != "abcd" {
		t.Fatalf("read %q, %v; want the body and then %v", data, err, bad)
	}
	if f := c.bodyErr.Load(); f == nil || !errors.Is(f.err, bad) || c.requestTooLarge.Load() {
		t.Fatalf("noted %v, too large %v; want %v noted", f, c.requestTooLarge.Load(), bad)
	}
}

// TestPeerLeft wants a caller that closes its connection seen as gone,
// even with bytes it sent still unread, and one that stays not.
func TestPeerLeft(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	caller, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	raw, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := caller.Write(make([]byte, 100<<10)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if peerLeft(raw) {
		t.Fatal("a caller still connected was taken for gone")
	}
	_ = caller.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !peerLeft(raw) {
		if time.Now().After(deadline) {
			t.Fatal("a caller that closed its connection, with 100 KiB unread, was not seen gone")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzExpectsContinue checks expectsContinue against the plain reading
// of net/http's rule: some field of the value, split at spaces and
// commas, is 100-continue in any case.
func FuzzExpectsContinue(f *testing.F) {
	for _, s := range []string{"100-continue", "foo, 100-Continue", "x100-continue", "100-continue,", " ,100-continue ,", "100-continuE1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		want := false
		for _, field := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
			want = want || strings.EqualFold(field, "100-continue")
		}
		r := &http.Request{Header: http.Header{"Expect": {v}}}
		if got := expectsContinue(r); got != want {
			t.Fatalf("expectsContinue(%q) = %v, want %v", v, got, want)
		}
	})
}

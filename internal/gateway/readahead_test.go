package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
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
			ra := newReadAhead(io.NopCloser(src), func(err error) { failed <- err })
			time.Sleep(time.Millisecond) // lets the read ahead run first, at times
			got, err := io.ReadAll(ra)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%d bytes through a read ahead: %d bytes back, error %v", n, len(got), err)
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
	ra := newReadAhead(io.NopCloser(src), func(err error) { failed <- err })
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
	ra := newReadAhead(pr, func(err error) { failed <- err })
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

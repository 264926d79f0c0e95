package pool

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// rawServer answers every request on its TCP listener with answer(n),
// n counting the requests of the connection from 1.
func rawServer(t *testing.T, answer func(n int) string) runtime.Endpoint {
	t.Helper()
	return rawServerClosing(t, func(n int) (string, bool) { return answer(n), false })
}

// rawServerClosing is rawServer whose answer may also end the
// connection after it is written (end true).
func rawServerClosing(t *testing.T, answer func(n int) (a string, end bool)) runtime.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					a, end := answer(n)
					if _, err := io.WriteString(c, a); err != nil || end {
						return
					}
				}
			}()
		}
	}()
	return runtime.Endpoint{Network: "tcp", Address: ln.Addr().String()}
}

func get(t *testing.T, tr *transport) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://function/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.RoundTrip(req)
}

func TestTransportKeepsConnectionsAlive(t *testing.T) {
	ep := rawServer(t, func(n int) string {
		body := strings.Repeat("x", n)
		return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	})
	tr := newTransport(ep, 4)
	for want := 1; want <= 3; want++ {
		resp, err := get(t, tr)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		// The server counts per connection: a body of want bytes proves
		// that the same connection carried every call.
		if err != nil || len(b) != want {
			t.Fatalf("call %d: body %q, %v; want %d bytes on a kept-alive connection", want, b, err, want)
		}
	}
}

func TestTransportRefusesAnEndlessHead(t *testing.T) {
	big := strings.Repeat("a", 64<<10)
	var head strings.Builder
	head.WriteString("HTTP/1.1 200 OK\r\n")
	for head.Len() <= MaxResponseHeadBytes {
		head.WriteString("X-Big: " + big + "\r\n")
	}
	ep := rawServer(t, func(int) string { return head.String() + "Content-Length: 0\r\n\r\n" })
	resp, err := get(t, newTransport(ep, 4))
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.Is(err, ErrResponseHeadTooLarge) {
		t.Fatalf("answer with %d bytes of headers: err = %v, want ErrResponseHeadTooLarge", head.Len(), err)
	}

	// Informational answers count against the same limit.
	var cont strings.Builder
	for cont.Len() <= MaxResponseHeadBytes {
		cont.WriteString("HTTP/1.1 100 Continue\r\nX-Pad: " + big + "\r\n\r\n")
	}
	ep = rawServer(t, func(int) string { return cont.String() + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" })
	resp, err = get(t, newTransport(ep, 4))
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.Is(err, ErrResponseHeadTooLarge) {
		t.Fatalf("endless 100 Continue answers: err = %v, want ErrResponseHeadTooLarge", err)
	}
}

func TestTransportAllowsAHeadUnderTheLimit(t *testing.T) {
	h := "X-Big: " + strings.Repeat("b", MaxResponseHeadBytes/2) + "\r\n"
	ep := rawServer(t, func(int) string { return "HTTP/1.1 200 OK\r\n" + h + "Content-Length: 2\r\n\r\nok" })
	tr := newTransport(ep, 4)
	for range 2 {
		resp, err := get(t, tr)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || string(b) != "ok" || len(resp.Header.Get("X-Big")) != MaxResponseHeadBytes/2 {
			t.Fatalf("body %q, %v, X-Big of %d bytes", b, err, len(resp.Header.Get("X-Big")))
		}
	}
}

// TestTransportTellsBadAnswersFromBrokenConnections wants an answer that
// is not HTTP reported as ErrBadAnswer, and one cut off by the
// connection's end not: only the second may mean the instance died.
func TestTransportTellsBadAnswersFromBrokenConnections(t *testing.T) {
	for _, tc := range []struct {
		answer string
		bad    bool
	}{
		{"HTTP/1.1 2x0 OK\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", true},
		{"SSH-2.0-x\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", true},
		{"", false},
		{"HTTP/1.1 200 OK\r\n", false},
		{"HTTP/1.1 200 OK\r\nX-A: b", false},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				_, _ = io.WriteString(c, tc.answer)
			}
		}()
		resp, err := get(t, newTransport(runtime.Endpoint{Network: "tcp", Address: ln.Addr().String()}, 4))
		_ = ln.Close()
		if err == nil {
			_ = resp.Body.Close()
			t.Fatalf("answer %q was taken as HTTP", tc.answer)
		}
		if errors.Is(err, ErrBadAnswer) != tc.bad {
			t.Errorf("answer %q: error %v; want ErrBadAnswer %v", tc.answer, err, tc.bad)
		}
	}
}

// TestTransportDropsConnectionsClosedWhileIdle has an instance close
// each connection after its answer without saying so, as servers with
// an idle timeout do, and wants a later call with a body, which cannot
// be sent twice, to go on a new connection rather than fail.
func TestTransportDropsConnectionsClosedWhileIdle(t *testing.T) {
	tr := newTransport(rawServerClosing(t, func(int) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true
	}), 4)
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://function/", io.MultiReader(strings.NewReader("body")))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			cancel()
			t.Fatalf("call %d after the instance closed the idle connection: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		cancel()
		if err != nil || string(b) != "ok" {
			t.Fatalf("call %d: %q, %v", i, b, err)
		}
		// Every connection taken from the idle list is checked, however
		// briefly it sat there; the pause only lets the instance's close
		// reach the socket.
		time.Sleep(time.Millisecond)
	}
}

// TestTransportDropsAConnectionWithBytesPastTheAnswer has an instance send
// more than its answer, and wants the surplus bytes never to be read as
// the next call's answer.
func TestTransportDropsAConnectionWithBytesPastTheAnswer(t *testing.T) {
	ep := rawServer(t, func(n int) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"
	})
	tr := newTransport(ep, 4)
	for i := range 3 {
		resp, err := get(t, tr)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || string(b) != "ok" {
			t.Fatalf("call %d: body %q, %v; want the call's own answer %q", i, b, err, "ok")
		}
	}
}

// TestTransportRetriesOnlyUnansweredCalls has an instance fail the second
// call of each connection in several ways, and wants a call without a
// body sent again only when none of its answer arrived and its method is
// safe: once any answer did, or for a POST the instance got, the function
// may have run, and must not run twice.
func TestTransportRetriesOnlyUnansweredCalls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		second string // what the instance says to a connection's second call before closing it
		retry  bool
	}{
		{"nothing", http.MethodGet, "", true},
		{"nothing to a POST", http.MethodPost, "", false},
		{"a cut-off head", http.MethodGet, "HTTP/1.1 200 OK\r\n", false},
		{"a 100 Continue", http.MethodGet, "HTTP/1.1 100 Continue\r\n\r\n", false},
		{"a bad answer", http.MethodGet, "SSH-2.0-x\r\n\r\n", false},
		{"a bad status", http.MethodGet, "HTTP/1.1 2x0 OK\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			tr := newTransport(rawServerClosing(t, func(n int) (string, bool) {
				calls.Add(1)
				if n == 2 {
					return tc.second, true
				}
				return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
			}), 4)
			resp, err := get(t, tr)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, "http://function/", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err = tr.RoundTrip(req) // the connection's second call
			if err == nil {
				_ = resp.Body.Close()
			}
			switch {
			case tc.retry && err != nil:
				t.Fatalf("an unanswered call on a kept-alive connection was not sent again: %v", err)
			case !tc.retry && err == nil:
				t.Fatalf("answer %q was taken, or the call sent again", tc.second)
			}
			want := int32(2)
			if tc.retry {
				want = 3
			}
			if got := calls.Load(); got != want {
				t.Fatalf("the instance got %d calls, want %d", got, want)
			}
		})
	}
}

// BenchmarkClosedByPeer is the cost of the check every idle connection
// to an instance gets when it is taken for a call.
func BenchmarkClosedByPeer(b *testing.B) {
	dir := b.TempDir()
	ln, err := net.Listen("unix", dir+"/s")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	c, err := net.Dial("unix", dir+"/s")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p := newPeer(c)
	b.ReportAllocs()
	for b.Loop() {
		if p.closedByPeer() {
			b.Fatal("an open connection was taken for closed")
		}
	}
}

package gateway

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestScanRequestHead(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"GET /f/x HTTP/1.1\r\nHost: a\r\n\r\n", len("GET /f/x HTTP/1.1\r\nHost: a\r\n\r\n")},
		{"GET /f/x HTTP/1.1\r\nHost: a\r\n\r\nGET /f/y", len("GET /f/x HTTP/1.1\r\nHost: a\r\n\r\n")},
		{"GET /f/x HTTP/1.1\r\nHost: a\r\n", headIncomplete},
		{"GET /f", headIncomplete},
		{"GE", headIncomplete},
		{"", headIncomplete},
		{"GET /api/functions HTTP/1.1\r\n\r\n", headNotPlain},
		{"GET /healthz", headNotPlain},
		{"POST /g", headNotPlain},
		{"GET  /f/x", headNotPlain},
		{"PRI * HTTP/2.0\r\n", headNotPlain},
		{"\r\nGET /f/x HTTP/1.1\r\n", headNotPlain},
		{"GET /f/x HTTP/1.1\nHost: a\n\n", headNotPlain},
		{"GET /f/x HTTP/1.1\r\nHost: a\n\r\n", headNotPlain},
	} {
		if got, _ := scanRequestHead([]byte(tc.in), 0); got != tc.want {
			t.Errorf("scanRequestHead(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestScanRequestHeadInParts feeds a head a byte at a time, as a slow
// caller would, going on from where each scan stopped.
func TestScanRequestHeadInParts(t *testing.T) {
	head := "POST /f/x/y?z=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n"
	next := 0
	for i := 1; i <= len(head); i++ {
		n, from := scanRequestHead([]byte(head[:i]), next)
		if i < len(head) {
			if n != headIncomplete {
				t.Fatalf("after %d bytes: %d, want incomplete", i, n)
			}
			next = from
			continue
		}
		if n != len(head) {
			t.Fatalf("whole head: %d, want %d", n, len(head))
		}
	}
}

func TestParseRequestHead(t *testing.T) {
	plain := []string{
		"GET /f/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /f/x/y%2Fz?q=1&r HTTP/1.1\r\nhost: a.b:80\r\nUser-Agent: t\r\n\r\n",
		"POST /f/x HTTP/1.1\r\nHost: a\r\nContent-Length: 65536\r\n\r\n",
		"DELETE /f/x HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: keep-alive, close\r\nTE: trailers\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-High: \xc3\xa9\r\n\r\n",
	}
	for _, in := range plain {
		var h requestHead
		if !parseRequestHead([]byte(in), &h) {
			t.Errorf("parseRequestHead(%q) = not plain, want plain", in)
		}
	}
	notPlain := []string{
		"GET /f/x HTTP/1.0\r\nHost: a\r\n\r\n",
		"GET /f/x HTTP/1.1\r\n\r\n",                       // no Host
		"GET /f/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // two
		"GET /f/x HTTP/1.1\r\nHost: a b\r\n\r\n",          // odd host
		"GET /f/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n", // over maxPlainBody
		"GET /f/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nConnection: x-secret\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
		"GET /f/x HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
		"GET /f/x#frag HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://a/f/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /g/x HTTP/1.1\r\nHost: a\r\n\r\n",
	}
	for _, in := range notPlain {
		var h requestHead
		if parseRequestHead([]byte(in), &h) {
			t.Errorf("parseRequestHead(%q) = plain, want not plain", in)
		}
	}
}

// TestBuildRequest checks what the instance receives: the caller's
// method, path, query and headers, without hop-by-hop headers, forwarding
// headers the caller made up, or a platform token.
func TestBuildRequest(t *testing.T) {
	in := "POST /f/fn/a%2Fb//c?x=1&y HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n" +
		"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Forwarded-For: 6.6.6.6\r\n" +
		"Forwarded: for=6.6.6.6\r\nAuthorization: Bearer cpt_secret\r\nX-Request-Id: abc\r\n" +
		"Proxy-Authorization: p\r\nContent-Length: 2\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n"
	wc := &wireConn{head: []byte(in), clientIP: "10.0.0.1"}
	if !parseRequestHead(wc.head, &wc.req) {
		t.Fatal("not plain")
	}
	name, rawPath, query := splitWireTarget(wc.req.target.of(wc.head))
	if name != "fn" || rawPath != "/a%2Fb//c" || query != "x=1&y" {
		t.Fatalf("splitWireTarget = %q %q %q", name, rawPath, query)
	}
	c := &call{path: "/a/b//c", rawPath: rawPath}
	c.exec.RequestID = "rid"
	out := string(wc.buildRequest(nil, c, query))
	want := "POST /a%2Fb//c?x=1&y HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n" +
		"Content-Length: 2\r\nX-Multi: 1\r\nX-Multi: 2\r\n" +
		"X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Host: example.com\r\nX-Forwarded-Proto: http\r\n" +
		"X-Request-Id: rid\r\n\r\n"
	if out != want {
		t.Errorf("request to the instance:\n%q\nwant\n%q", out, want)
	}
	// Another Authorization value is the function's own business.
	in2 := strings.Replace(in, "Bearer cpt_secret", "Basic dXNlcjpwYXNz", 1)
	wc2 := &wireConn{head: []byte(in2)}
	if !parseRequestHead(wc2.head, &wc2.req) {
		t.Fatal("not plain")
	}
	if out := string(wc2.buildRequest(nil, c, query)); !strings.Contains(out, "Authorization: Basic dXNlcjpwYXNz\r\n") {
		t.Errorf("a function's own Authorization header was not passed: %q", out)
	}
	c.stripAuth = true
	if out := string(wc2.buildRequest(nil, c, query)); strings.Contains(out, "Authorization") {
		t.Errorf("the owner's Authorization of a private call was passed: %q", out)
	}
}

func TestParseResponseHead(t *testing.T) {
	for _, tc := range []struct {
		in      string
		status  int
		length  int64
		chunked bool
		close   bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 200, 2, false, false},
		{"HTTP/1.1 200 OK\nContent-Length: 2\n\n", 200, 2, false, false},
		{"HTTP/1.1 404\r\n\r\n", 404, -1, false, false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, -1, true, false},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 200, 0, false, true},
		{"HTTP/1.0 200 OK\r\n\r\n", 200, -1, false, true},
		{"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", 200, 1, false, false},
		{"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 103, -1, false, false},
	} {
		var h responseHead
		if err := parseResponseHead([]byte(tc.in), &h); err != nil {
			t.Errorf("parseResponseHead(%q): %v", tc.in, err)
			continue
		}
		if h.status != tc.status || h.contentLength != tc.length || h.chunked != tc.chunked || h.close != tc.close {
			t.Errorf("parseResponseHead(%q) = %d %d %v %v, want %d %d %v %v", tc.in,
				h.status, h.contentLength, h.chunked, h.close, tc.status, tc.length, tc.chunked, tc.close)
		}
	}
	for _, in := range []string{
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 099 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x00\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\n",
	} {
		var h responseHead
		if err := parseResponseHead([]byte(in), &h); err == nil {
			t.Errorf("parseResponseHead(%q) = ok, want an error", in)
		}
	}
}

// TestResponseConnectionNames checks that headers an answer's Connection
// header names stay with the gateway.
func TestResponseConnectionNames(t *testing.T) {
	in := []byte("HTTP/1.1 200 OK\r\nConnection: X-Hop, close\r\nX-Hop: 1\r\nX-Keep: 2\r\nContent-Length: 0\r\n\r\n")
	var h responseHead
	if err := parseResponseHead(in, &h); err != nil {
		t.Fatal(err)
	}
	var passed []string
	for _, l := range h.lines {
		if l.kind == hdrPass {
			passed = append(passed, string(l.name.of(in)))
		}
	}
	if strings.Join(passed, ",") != "X-Keep" || !h.close {
		t.Errorf("passed %v, close %v; want [X-Keep], true", passed, h.close)
	}
}

// FuzzRequestHead checks the request parser against net/http's: what it
// takes for a plain call, net/http reads the same way, so that the two
// paths of a connection can never disagree on where a request ends.
func FuzzRequestHead(f *testing.F) {
	f.Add([]byte("GET /f/x HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST /f/x/y?z HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"))
	f.Add([]byte("GET /f/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"))
	f.Add([]byte("GET /f/x HTTP/1.1\r\nHost: a\r\nX: \x80\xff\r\nAuthorization: Bearer cpt_x\r\n\r\n"))
	f.Fuzz(checkRequestHead)
}

// FuzzRequestHeaders does what FuzzRequestHead does with heads that are
// mostly well-formed: a plain request line and Host, then any header
// lines.
func FuzzRequestHeaders(f *testing.F) {
	f.Add([]byte("Content-Length: 3"), []byte("/x?y"))
	f.Add([]byte("Transfer-Encoding: chunked\r\nContent-Length: 3"), []byte("/"))
	f.Add([]byte("Connection: close, keep-alive\r\nTE: trailers"), []byte("/a%2Fb"))
	f.Add([]byte("X-Request-Id: abc\r\nAuthorization: Basic x"), []byte(""))
	f.Fuzz(func(t *testing.T, headers, path []byte) {
		b := append([]byte("POST /f/fn"), path...)
		b = append(b, " HTTP/1.1\r\nHost: a\r\n"...)
		b = append(b, headers...)
		b = append(b, "\r\n\r\nbody"...)
		checkRequestHead(t, b)
	})
}

// checkRequestHead checks what the gateway reads of b against what
// net/http reads of it.
func checkRequestHead(t *testing.T, b []byte) {
	n, _ := scanRequestHead(b, 0)
	if n <= 0 {
		return
	}
	var h requestHead
	if !parseRequestHead(b[:n], &h) {
		return
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("plain to us, refused by net/http: %v\n%q", err, b[:n])
	}
	if req.Method != string(h.method.of(b)) || req.RequestURI != string(h.target.of(b)) ||
		req.Host != string(h.host.of(b)) || req.ContentLength != h.contentLength ||
		req.Close != h.close {
		t.Fatalf("net/http read %s %s host %q length %d close %v; we read %s %s host %q length %d close %v\n%q",
			req.Method, req.RequestURI, req.Host, req.ContentLength, req.Close,
			h.method.of(b), h.target.of(b), h.host.of(b), h.contentLength, h.close, b[:n])
	}
	wc := &wireConn{head: b[:n], req: h}
	c := &call{path: "/", rawPath: "/"}
	out := wc.buildRequest(nil, c, "")
	// What goes to the instance is one request net/http reads whole.
	r2, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(out)))
	if err != nil {
		t.Fatalf("request to the instance unreadable: %v\n%q", err, out)
	}
	if r2.ContentLength != h.contentLength || len(r2.TransferEncoding) > 0 {
		t.Fatalf("request to the instance framed differently: %d %v\n%q", r2.ContentLength, r2.TransferEncoding, out)
	}
}

// FuzzResponseHead checks the answer parser against net/http's on where
// an answer's body ends.
func FuzzResponseHead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 204 No Content\nX: y\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h responseHead
		if err := parseResponseHead(b, &h); err != nil {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("valid to us, refused by net/http: %v\n%q", err, b)
		}
		defer resp.Body.Close()
		if resp.StatusCode != h.status {
			t.Fatalf("status: net/http %d, we %d\n%q", resp.StatusCode, h.status, b)
		}
		if !responseHasBody([]byte("GET"), h.status) {
			return
		}
		chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
		if chunked != h.chunked || (!chunked && resp.ContentLength != h.contentLength) {
			t.Fatalf("framing: net/http chunked %v length %d, we chunked %v length %d\n%q",
				chunked, resp.ContentLength, h.chunked, h.contentLength, b)
		}
	})
}

// benchHead is a call's head as the benchmarks' load generator sends it.
var benchHead = []byte("GET /f/bench-warm/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\n" +
	"Accept-Encoding: gzip\r\n\r\n")

// BenchmarkParseRequestHead measures reading a call's head on the own
// path; it must not allocate.
func BenchmarkParseRequestHead(b *testing.B) {
	var h requestHead
	b.ReportAllocs()
	for b.Loop() {
		n, _ := scanRequestHead(benchHead, 0)
		if n != len(benchHead) || !parseRequestHead(benchHead[:n], &h) {
			b.Fatal("not plain")
		}
	}
}

// BenchmarkBuildRequest measures writing the request to the instance.
func BenchmarkBuildRequest(b *testing.B) {
	wc := &wireConn{head: benchHead, clientIP: "127.0.0.1"}
	if !parseRequestHead(wc.head, &wc.req) {
		b.Fatal("not plain")
	}
	c := &call{path: "/", rawPath: "/"}
	c.exec.RequestID = "01a23d83-7bbe-752c-9065-e6d266880154"
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		out = wc.buildRequest(out[:0], c, "")
	}
}

// BenchmarkParseResponseHead measures reading an instance's answer head.
func BenchmarkParseResponseHead(b *testing.B) {
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Date: Thu, 03 Dec 2026 20:05:56 GMT\r\nContent-Length: 2\r\n\r\n")
	var h responseHead
	b.ReportAllocs()
	for b.Loop() {
		if err := parseResponseHead(head, &h); err != nil {
			b.Fatal(err)
		}
	}
}

package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for cpbench when the smoke test
// starts the bare proxy: os.Executable is then this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-"+bareProxyFlag {
		main()
		return
	}
	os.Exit(m.Run())
}

// unixServer starts an HTTP server on a unix socket that answers with
// the path and query it got, and returns the socket.
func unixServer(t *testing.T) string {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "fn.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Host+" "+r.URL.RequestURI())
	}))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return socket
}

// get returns the body of a GET of url.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %q, %v", url, resp.StatusCode, body, err)
	}
	return string(body)
}

func TestServeBareProxy(t *testing.T) {
	socket := unixServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveBareProxy(ctx, ln, socket) }()

	url := "http://" + ln.Addr().String()
	for _, path := range []string{"/", "/a/b?c=d&e"} {
		// The URL's host becomes "function"; the Host header stays.
		if got, want := get(t, url+path), ln.Addr().String()+" "+path; got != want {
			t.Errorf("GET %s = %q, want %q", path, got, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveBareProxy: %v", err)
		}
	case <-time.After(bareProxyStopTimeout + time.Second):
		t.Fatal("serveBareProxy did not return after its context ended")
	}
}

// TestBareProxyProcess starts the bare proxy as cpbench does, calls
// through it and stops it by closing its stdin.
func TestBareProxyProcess(t *testing.T) {
	socket := unixServer(t)
	p, err := startBareProxy(context.Background(), socket)
	if err != nil {
		t.Fatalf("startBareProxy: %v", err)
	}
	t.Cleanup(func() { _ = p.stop() })
	if !strings.HasPrefix(p.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q, want a loopback one", p.URL)
	}
	if got, want := get(t, p.URL+"/x?y=1"), strings.TrimPrefix(p.URL, "http://")+" /x?y=1"; got != want {
		t.Errorf("GET through the process = %q, want %q", got, want)
	}
	if err := p.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if st := p.cmd.ProcessState; st == nil || !st.Success() {
		t.Errorf("bare proxy state after stop: %v, want exited with 0", st)
	}
}

func TestBareCopyBuffers(t *testing.T) {
	var b bareCopyBuffers
	buf := b.Get()
	if len(buf) != bareCopyBufferSize {
		t.Fatalf("Get: %d bytes, want %d", len(buf), bareCopyBufferSize)
	}
	b.Put(buf)
	b.Put(nil) // another size is dropped, not pooled
	if got := b.Get(); len(got) != bareCopyBufferSize {
		t.Errorf("Get after Put: %d bytes, want %d", len(got), bareCopyBufferSize)
	}
}

package podman

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// unixServer serves h on a unix socket in a temporary directory, as
// Podman does, and returns a client for it.
func unixServer(t *testing.T, h http.Handler) *client {
	t.Helper()
	dir, err := os.MkdirTemp("", "cpub-api-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	l, err := net.Listen("unix", filepath.Join(dir, "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(l.Addr().String())
	t.Cleanup(c.close)
	return c
}

// answer writes a fixed status and body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		body         string
		wantNotFound bool
		wantMsg      string
	}{
		{
			name:         "not-found",
			status:       404,
			body:         `{"cause":"no such container","message":"no container with name or ID \"x\" found: no such container","response":404}`,
			wantNotFound: true,
			wantMsg:      `no container with name or ID "x" found`,
		},
		{
			name:         "container-gone-during-removal",
			status:       500,
			body:         `{"cause":"no such container","message":"removing container x: no such container","response":500}`,
			wantNotFound: true,
			wantMsg:      "removing container x: no such container",
		},
		{
			name:         "image-not-known",
			status:       500,
			body:         `{"cause":"image not known","message":"localhost/a:1: image not known","response":500}`,
			wantNotFound: true,
			wantMsg:      "localhost/a:1: image not known",
		},
		{
			name:    "conflict",
			status:  409,
			body:    `{"cause":"image is in use by a container","message":"image used by 4f2a","response":409}`,
			wantMsg: "image used by 4f2a",
		},
		{
			name:    "not-json",
			status:  502,
			body:    "bad gateway\n",
			wantMsg: "bad gateway",
		},
		{
			name:    "empty",
			status:  500,
			wantMsg: "podman api status 500",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := unixServer(t, answer(tt.status, tt.body))
			_, err := c.inspectContainer(t.Context(), "x")
			if err == nil {
				t.Fatal("inspectContainer() succeeded on an error answer")
			}
			if got := errors.Is(err, runtime.ErrNotFound); got != tt.wantNotFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.wantNotFound)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

// TestClientNotModified: 304 from start, stop and init means the
// container is already in the wanted state.
func TestClientNotModified(t *testing.T) {
	c := unixServer(t, answer(http.StatusNotModified, ""))
	calls := map[string]func() error{
		"start": func() error { return c.startContainer(t.Context(), "x") },
		"stop":  func() error { return c.stopContainer(t.Context(), "x", 1) },
		"init":  func() error { return c.initContainer(t.Context(), "x") },
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s on 304 = %v, want nil", name, err)
		}
	}
}

// TestClientStatsMissing: Podman answers stats of a missing container
// with 200 and an empty error object.
func TestClientStatsMissing(t *testing.T) {
	c := unixServer(t, answer(200, `{"Error":{},"Stats":null}`))
	_, ok, err := c.containerStats(t.Context(), "x")
	if err != nil || ok {
		t.Errorf("containerStats() = ok %v, %v; want no reading and no error", ok, err)
	}
}

// TestAttachUpgrade drives attachContainer and demux against a server
// that upgrades the connection the way Podman does.
func TestAttachUpgrade(t *testing.T) {
	c := unixServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "tcp" || r.URL.Query().Get("stream") != "true" {
			http.Error(w, "want an upgrade to tcp", http.StatusBadRequest)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = buf.WriteString("HTTP/1.1 101 UPGRADED\r\n" +
			"Content-Type: application/vnd.docker.raw-stream\r\n" +
			"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		_, _ = buf.Write(frames(frame(1, "out\n"), frame(2, "err\n")))
		if err := buf.Flush(); err != nil {
			t.Error(err)
		}
	}))
	stream, err := c.attachContainer(t.Context(), "x")
	if err != nil {
		t.Fatalf("attachContainer() = %v", err)
	}
	defer func() { _ = stream.Close() }()
	var out, errOut strings.Builder
	if err := demux(stream, &out, &errOut); err != nil {
		t.Fatalf("demux() = %v", err)
	}
	if out.String() != "out\n" || errOut.String() != "err\n" {
		t.Errorf("attached output = %q, %q; want out, err", out.String(), errOut.String())
	}
}

// TestAttachNotUpgraded: a 200 instead of an upgrade is an error, not a
// stream.
func TestAttachNotUpgraded(t *testing.T) {
	c := unixServer(t, answer(200, "{}"))
	if _, err := c.attachContainer(t.Context(), "x"); !errors.Is(err, errNotUpgraded) {
		t.Errorf("attachContainer() = %v, want errNotUpgraded", err)
	}
}

// TestClientHonoursContext: a call gives up when its context ends.
func TestClientHonoursContext(t *testing.T) {
	release := make(chan struct{})
	c := unixServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ping() past its deadline = %v, want DeadlineExceeded", err)
	}
}

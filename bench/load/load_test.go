package load

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// countingServer answers "ok" and counts requests and connections.
type countingServer struct {
	requests atomic.Int64
	mu       sync.Mutex
	conns    int
	status   int
	body     string
}

func (s *countingServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.requests.Add(1)
	w.WriteHeader(s.status)
	_, _ = w.Write([]byte(s.body))
}

func (s *countingServer) connState(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
	}
}

func newServer(t *testing.T, status int, body string) (*countingServer, *httptest.Server) {
	t.Helper()
	cs := &countingServer{status: status, body: body}
	srv := httptest.NewUnstartedServer(cs)
	srv.Config.ConnState = cs.connState
	srv.Start()
	t.Cleanup(srv.Close)
	return cs, srv
}

func TestRunOverTCP(t *testing.T) {
	tests := []struct {
		name    string
		workers int
	}{
		{name: "one_worker", workers: 1},
		{name: "four_workers", workers: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, srv := newServer(t, http.StatusOK, "ok")
			res, err := Run(context.Background(), Target{URL: srv.URL + "/", WantBody: []byte("ok")},
				Config{Workers: tt.workers, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkSuccess(t, res, cs)
			cs.mu.Lock()
			defer cs.mu.Unlock()
			if diff := cmp.Diff(tt.workers, cs.conns); diff != "" {
				t.Errorf("connections opened (-want +got):\n%s", diff)
			}
		})
	}
}

// checkSuccess checks a run against a server that always answered.
func checkSuccess(t *testing.T, res Result, cs *countingServer) {
	t.Helper()
	if res.Errors != 0 {
		t.Errorf("Errors = %d (%s), want 0", res.Errors, res.FirstError)
	}
	if res.Calls == 0 {
		t.Fatal("Calls = 0, want some")
	}
	// Warm-up calls reach the server but are not counted.
	if served := uint64(cs.requests.Load()); res.Calls >= served {
		t.Errorf("Calls = %d, want fewer than the %d the server saw, warm-up included", res.Calls, served)
	}
	if res.Latency.Count() != res.Calls {
		t.Errorf("Latency.Count() = %d, want Calls = %d", res.Latency.Count(), res.Calls)
	}
	if p50 := res.Latency.Quantile(0.5); p50 <= 0 || p50 > res.Elapsed {
		t.Errorf("p50 = %v, want within (0, %v]", p50, res.Elapsed)
	}
	if res.Elapsed != 200*time.Millisecond {
		t.Errorf("Elapsed = %v, want 200ms", res.Elapsed)
	}
	if got, want := res.Throughput(), float64(res.Calls)/0.2; got != want {
		t.Errorf("Throughput() = %g, want %g", got, want)
	}
}

func TestRunOverUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "fn.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingServer{status: http.StatusOK, body: "ok"}
	srv := &http.Server{Handler: cs, ConnState: cs.connState}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	var d net.Dialer
	target := Target{
		URL:      "http://instance/",
		Dial:     func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", sock) },
		WantBody: []byte("ok"),
	}
	res, err := Run(context.Background(), target, Config{Workers: 2, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSuccess(t, res, cs)
}

func TestRunCountsFailures(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{name: "server_error", status: http.StatusInternalServerError, body: "boom", wantErr: "status 500"},
		{name: "wrong_body", status: http.StatusOK, body: "not ok", wantErr: "unexpected body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t, tt.status, tt.body)
			res, err := Run(context.Background(), Target{URL: srv.URL, WantBody: []byte("ok")},
				Config{Workers: 2, Duration: 100 * time.Millisecond})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Calls != 0 || res.Errors == 0 {
				t.Errorf("Calls, Errors = %d, %d; want 0 and some", res.Calls, res.Errors)
			}
			if !strings.Contains(res.FirstError, tt.wantErr) {
				t.Errorf("FirstError = %q, want it to mention %q", res.FirstError, tt.wantErr)
			}
		})
	}
}

func TestRunRefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := Run(context.Background(), Target{URL: "http://" + addr + "/"},
		Config{Workers: 1, Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Errors == 0 || !strings.Contains(res.FirstError, "refused") {
		t.Errorf("Errors, FirstError = %d, %q; want failures saying the connection was refused", res.Errors, res.FirstError)
	}
}

func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "no_workers", cfg: Config{Duration: time.Second}},
		{name: "no_duration", cfg: Config{Workers: 1}},
		{name: "negative_warmup", cfg: Config{Workers: 1, Duration: time.Second, Warmup: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(context.Background(), Target{URL: "http://127.0.0.1:1/"}, tt.cfg); err == nil {
				t.Errorf("Run(%+v) = nil error, want one", tt.cfg)
			}
		})
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	_, srv := newServer(t, http.StatusOK, "ok")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, Target{URL: srv.URL}, Config{Workers: 2, Duration: time.Minute})
	if err == nil {
		t.Error("Run after the context ended = nil error, want one")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v after its context ended, want it to stop promptly", d)
	}
}

func TestRunCallsOnWindow(t *testing.T) {
	_, srv := newServer(t, http.StatusOK, "ok")
	var mu sync.Mutex
	var got []bool
	var times []time.Time
	start := time.Now()
	_, err := Run(context.Background(), Target{URL: srv.URL}, Config{
		Workers: 1, Warmup: 100 * time.Millisecond, Duration: 200 * time.Millisecond,
		OnWindow: func(closing bool) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, closing)
			times = append(times, time.Now())
		},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]bool{false, true}, got); diff != "" {
		t.Fatalf("OnWindow calls (-want +got):\n%s", diff)
	}
	if d := times[0].Sub(start); d < 100*time.Millisecond {
		t.Errorf("window opened %v after the start, want after the 100ms warm-up", d)
	}
	// Timers never fire early, so the window closes no sooner than
	// warm-up plus duration after the start.
	if d := times[1].Sub(start); d < 300*time.Millisecond {
		t.Errorf("window closed %v after the start, want at least 300ms", d)
	}
}

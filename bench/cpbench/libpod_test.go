package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fixtures are answers of Podman 4.3.1's libpod API for a container
// initialised and not started, the same container running, and a
// missing one.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseInspectPIDs(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		want    containerPIDs
		wantErr error
	}{
		{name: "initialized", body: readFixture(t, "inspect-initialized.json"),
			want: containerPIDs{Status: "initialized", Pid: 14915, ConmonPid: 14905}},
		{name: "running", body: readFixture(t, "inspect-running.json"),
			want: containerPIDs{Status: "running", Pid: 14915, ConmonPid: 14905}},
		{name: "configured", body: []byte(`{"State":{"Status":"configured","Pid":0,"ConmonPid":0}}`),
			want: containerPIDs{Status: "configured"}},
		{name: "no_state", body: []byte(`{"Id":"x"}`), wantErr: errNoState},
		{name: "negative", body: []byte(`{"State":{"Pid":-1}}`), wantErr: errBadPID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInspectPIDs(tt.body)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("parseInspectPIDs() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseInspectPIDs(): %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseInspectPIDs() (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := parseInspectPIDs([]byte("{")); err == nil {
		t.Error("parseInspectPIDs(truncated JSON) = nil error, want one")
	}
}

func FuzzParseInspectPIDs(f *testing.F) {
	f.Add(readFixture(f, "inspect-running.json"))
	f.Add(readFixture(f, "inspect-missing.json"))
	f.Add([]byte(`{"State":{"Pid":1e3}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseInspectPIDs(b)
		if err == nil && (got.Pid < 0 || got.ConmonPid < 0) {
			t.Errorf("parseInspectPIDs(%q) = %+v, want no negative pid", b, got)
		}
	})
}

// TestInspectPIDsOverSocket serves the fixtures on a unix socket, as
// Podman does, and reads them through the client.
func TestInspectPIDsOverSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "podman.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	running, missing := readFixture(t, "inspect-running.json"), readFixture(t, "inspect-missing.json")
	var mu sync.Mutex
	var paths []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.EscapedPath())
		mu.Unlock()
		if strings.Contains(r.URL.Path, "/abc/") {
			_, _ = w.Write(running)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(missing)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	pod := newLibpod(sock)
	defer pod.close()
	got, err := pod.inspectPIDs(context.Background(), "abc")
	if err != nil {
		t.Fatalf("inspectPIDs(abc): %v", err)
	}
	if want := (containerPIDs{Status: "running", Pid: 14915, ConmonPid: 14905}); got != want {
		t.Errorf("inspectPIDs(abc) = %+v, want %+v", got, want)
	}
	if _, err := pod.inspectPIDs(context.Background(), "a/b"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("inspectPIDs(a/b) error = %v, want a 404", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/v4.0.0/libpod/containers/abc/json", "/v4.0.0/libpod/containers/a%2Fb/json"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths requested (-want +got):\n%s", diff)
	}
}

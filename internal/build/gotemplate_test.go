package build

import (
	"context"
	"errors"
	"fmt"
	"go/format"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/testutil"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGenerateGoMain(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/my/fn\n\ngo 1.22\n"})
	if err := GenerateGoMain(dir); err != nil {
		t.Fatalf("GenerateGoMain() = %v", err)
	}
	src, err := os.ReadFile(filepath.Join(dir, client.GoMainDir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	formatted, err := format.Source(src)
	if err != nil {
		t.Fatalf("generated main does not parse: %v", err)
	}
	if string(formatted) != string(src) {
		t.Errorf("generated main is not gofmt-formatted")
	}
	for _, want := range []string{
		`function "example.com/my/fn"`,
		`os.Getenv("CONTAINERPUB_SOCKET")`,
		`r.Header.Get("X-Request-Id")`,
		`const endMarker = "\x1econtainerpub-end "`,
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated main lacks %s", want)
		}
	}
	if err := GenerateGoMain(dir); !errors.Is(err, ErrInvalid) {
		t.Errorf("GenerateGoMain() twice = %v, want ErrInvalid for the existing directory", err)
	}
}

func TestGenerateGoMainRejects(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no_go_mod", map[string]string{}, "no go.mod"},
		{"no_module_line", map[string]string{"go.mod": "go 1.22\n"}, "no module line"},
		{"broken_go_mod", map[string]string{"go.mod": "module x\nrequire (\n"}, "go.mod:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			err := GenerateGoMain(dir)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GenerateGoMain() = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

// contractFunction exercises the generated main: output with and
// without a final newline, a panic, and a slow call for the drain.
const contractFunction = `package function

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/panic":
		panic("boom")
	case "/slow":
		time.Sleep(700 * time.Millisecond)
		fmt.Fprint(w, "slow done")
	default:
		fmt.Println("line one")
		fmt.Fprint(os.Stderr, "partial")
		fmt.Fprint(w, "ok")
	}
}
`

// buildContractFunction generates the main package for contractFunction
// and compiles it with the host's Go, as the builder image would.
func buildContractFunction(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("SKIPPING: no go command on PATH to compile the generated main")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/contract\n\ngo 1.22\n", "fn.go": contractFunction})
	if err := GenerateGoMain(dir); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "fn")
	cmd := exec.CommandContext(t.Context(), gobin, "build", "-trimpath", "-o", bin, "./"+client.GoMainDir)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the generated main: %v\n%s", err, out)
	}
	return bin
}

// instance is a running function binary.
type instance struct {
	cmd            *exec.Cmd
	stdout, stderr testutil.SyncBuffer
	client         *http.Client
	exited         chan error
}

func startInstance(t *testing.T, bin string, env []string, dial func(ctx context.Context) (net.Conn, error)) *instance {
	t.Helper()
	in := &instance{cmd: exec.Command(bin), exited: make(chan error, 1)}
	in.cmd.Env = env
	in.cmd.Stdout, in.cmd.Stderr = &in.stdout, &in.stderr
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.exited <- in.cmd.Wait() }()
	t.Cleanup(func() {
		in.cmd.Process.Kill()
		<-in.exited
	})
	in.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			deadline := time.Now().Add(10 * time.Second)
			for {
				conn, err := dial(ctx)
				if err == nil || time.Now().After(deadline) {
					return conn, err
				}
				time.Sleep(10 * time.Millisecond)
			}
		},
	}}
	return in
}

func (in *instance) get(t *testing.T, path, requestID string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://fn"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(client.RequestIDHeader, requestID)
	resp, err := in.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestGoMainContract runs the generated main on a unix socket and checks
// the function contract of docs/RUNTIMES.md.
func TestGoMainContract(t *testing.T) {
	bin := buildContractFunction(t)
	sock := filepath.Join(t.TempDir(), "fn.sock")
	// A socket file left by an earlier run must not stop the new one.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	in := startInstance(t, bin, []string{runtime.SocketEnv + "=" + sock, runtime.MarkersEnv + "=1"}, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	})

	if code, body := in.get(t, "/", "r1"); code != 200 || body != "ok" {
		t.Errorf("GET / = %d %q, want 200 ok", code, body)
	}
	end := func(id string) string { return runtime.CallEndMarker + id + "\n" }
	waitFor(t, func() bool {
		return strings.Contains(in.stdout.String(), "line one\n"+end("r1")) &&
			strings.Contains(in.stderr.String(), "partial"+end("r1"))
	}, "end markers after the call's output; stdout %q, stderr %q", &in.stdout, &in.stderr)

	if info, err := os.Stat(sock); err != nil || info.Mode().Perm() != 0o666 {
		t.Errorf("socket mode = %v, %v; want 0666", info.Mode(), err)
	}

	code, body := in.get(t, "/panic", "r2")
	if code != http.StatusInternalServerError || !strings.Contains(body, "internal server error") {
		t.Errorf("GET /panic = %d %q, want 500", code, body)
	}
	waitFor(t, func() bool {
		s := in.stderr.String()
		i := strings.Index(s, "panic serving request r2: boom\ngoroutine ")
		return i >= 0 && strings.Index(s, end("r2")) > i
	}, "the panic and its stack logged before the end marker; stderr %q", &in.stderr)
	if code, _ := in.get(t, "/", "r3"); code != 200 {
		t.Errorf("GET / after a panic = %d, want 200: the instance must survive", code)
	}

	testGracefulDrain(t, in)
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after shutdown: %v", err)
	}
}

// testGracefulDrain sends SIGTERM during a slow call: the call must
// finish and the process exit 0.
func testGracefulDrain(t *testing.T, in *instance) {
	t.Helper()
	type result struct {
		code int
		body string
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://fn/slow", nil)
		resp, err := in.client.Do(req)
		if err != nil {
			done <- result{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(b)}
	}()
	time.Sleep(200 * time.Millisecond) // let the call reach the handler
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.code != 200 || r.body != "slow done" {
		t.Errorf("slow call during shutdown = %d %q, want 200 \"slow done\"", r.code, r.body)
	}
	select {
	case err := <-in.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM = %v, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("instance did not exit after SIGTERM")
	}
	in.exited <- nil // for the cleanup's wait
}

// TestGoMainPort runs the generated main without a socket, on $PORT.
func TestGoMainPort(t *testing.T) {
	bin := buildContractFunction(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	in := startInstance(t, bin, []string{fmt.Sprintf("PORT=%d", port)}, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	})
	if code, body := in.get(t, "/", "p1"); code != 200 || body != "ok" {
		t.Errorf("GET / on $PORT = %d %q, want 200 ok", code, body)
	}
	// Without the platform asking for them, no call is marked.
	if strings.Contains(in.stdout.String(), runtime.CallEndMarker) ||
		strings.Contains(in.stderr.String(), runtime.CallEndMarker) {
		t.Errorf("end markers written though %s is unset: stdout %q", runtime.MarkersEnv, in.stdout.String())
	}
}

func TestRenderGoContainerfile(t *testing.T) {
	cf, err := renderGoContainerfile("localhost/b:1", "0d3ae5ab-3359-409b-95f1-0f32936d7351")
	if err != nil {
		t.Fatal(err)
	}
	s := string(cf)
	for _, want := range []string{
		"FROM localhost/b:1 AS build",
		"id=containerpub-gocache-0d3ae5ab-3359-409b-95f1-0f32936d7351,target=/cache/go-build",
		"id=containerpub-gomod-0d3ae5ab-3359-409b-95f1-0f32936d7351,target=/cache/mod",
		"go build " + goBuildFlags + " -o /out/fn ./containerpubmain",
		"FROM scratch",
		`ENTRYPOINT ["/fn"]`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Containerfile lacks %q:\n%s", want, s)
		}
	}
	// The warm-up must build with the same flags, or the seed misses.
	if !strings.Contains(builderContainerfile, "go build "+goBuildFlags+" ") {
		t.Errorf("builder warm-up does not use the function build flags %s", goBuildFlags)
	}
}

func TestOwnerCacheKey(t *testing.T) {
	tests := []struct {
		owner string
		want  string
	}{
		{"u1", "u1"},
		{"0d3ae5ab-3359-409b-95f1-0f32936d7351", "0d3ae5ab-3359-409b-95f1-0f32936d7351"},
		{"a,target=/etc", "h"},
		{"", "h"},
		{strings.Repeat("a", 65), "h"},
	}
	for _, tt := range tests {
		got := ownerCacheKey(tt.owner)
		if tt.want == "h" {
			if len(got) != 17 || got[0] != 'h' || strings.ContainsAny(got, ",=/") {
				t.Errorf("ownerCacheKey(%q) = %q, want a hashed key", tt.owner, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("ownerCacheKey(%q) = %q, want %q", tt.owner, got, tt.want)
		}
	}
	if ownerCacheKey("a,b") == ownerCacheKey("a;b") {
		t.Error("ownerCacheKey maps two owners to one cache")
	}
}

func TestGoVersion(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"VERSION": "go1.26.8\ntime 2026-08-28T16:20:06Z\n"})
	if v, err := goVersion(dir); err != nil || v != "go1.26.8" {
		t.Errorf("goVersion() = %q, %v; want go1.26.8", v, err)
	}
	writeFiles(t, dir, map[string]string{"VERSION": "devel +abc\n"})
	if _, err := goVersion(dir); err == nil {
		t.Error("goVersion() of a devel tree = nil error, want one")
	}
}

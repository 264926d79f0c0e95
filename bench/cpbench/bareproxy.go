package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The bare proxy is the reference floor of the warm benchmark: the
// simplest Go reverse proxy making the backend's hop, from loopback TCP
// to the instance's unix socket, with none of the platform's own work.
// cpbench runs it as a process of its own, so that its CPU time can be
// read apart from the load generator's.

// bareProxyFlag is the hidden flag that makes cpbench run only the bare
// proxy to the unix socket it names.
const bareProxyFlag = "bare-proxy-socket"

// bareProxyListening opens the one line the bare proxy prints, followed
// by its URL.
const bareProxyListening = "listening on "

// Bare proxy start and stop bounds.
const (
	bareProxyStartTimeout = 10 * time.Second
	bareProxyStopTimeout  = 5 * time.Second
)

// bareCopyBufferSize is the size of the proxy's copy buffers, its own
// default.
const bareCopyBufferSize = 32 << 10

// bareCopyBuffers lends the bare proxy its body copy buffers, as the
// backend's gateway does.
type bareCopyBuffers struct{}

// bareCopyBufferPool holds the buffers bareCopyBuffers lends.
var bareCopyBufferPool = sync.Pool{New: func() any { return new([bareCopyBufferSize]byte) }}

// Get returns a buffer from the pool, or a new one.
func (bareCopyBuffers) Get() []byte {
	if p, ok := bareCopyBufferPool.Get().(*[bareCopyBufferSize]byte); ok {
		return p[:]
	}
	return make([]byte, bareCopyBufferSize)
}

// Put gives a buffer of Get's back to the pool; one of another size is
// dropped.
func (bareCopyBuffers) Put(b []byte) {
	if cap(b) == bareCopyBufferSize {
		bareCopyBufferPool.Put((*[bareCopyBufferSize]byte)(b[:bareCopyBufferSize]))
	}
}

// newBareProxy returns a reverse proxy that sends every request, path
// and query kept, to the HTTP server on the unix socket.
func newBareProxy(socket string) *httputil.ReverseProxy {
	var d net.Dialer
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = "function"
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "unix", socket)
			},
			MaxIdleConnsPerHost: 64,
		},
		BufferPool: bareCopyBuffers{},
	}
}

// serveBareProxy serves the bare proxy to socket on ln until ctx ends.
func serveBareProxy(ctx context.Context, ln net.Listener, socket string) error {
	srv := &http.Server{Handler: newBareProxy(socket), ReadHeaderTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("bare proxy: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), bareProxyStopTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return errors.Join(fmt.Errorf("bare proxy: shut down: %w", err), srv.Close())
	}
	return nil
}

// runBareProxy is cpbench in bare proxy mode: it listens on a free
// loopback port, prints its URL as one line to stdout and serves until
// stdin closes or a SIGTERM comes.
func runBareProxy(socket string, stdin io.Reader, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// Nothing is sent on stdin: its end, error or not, is the signal.
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bare proxy: listen: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "%shttp://%s\n", bareProxyListening, ln.Addr()); err != nil {
		return errors.Join(fmt.Errorf("bare proxy: print address: %w", err), ln.Close())
	}
	return serveBareProxy(ctx, ln, socket)
}

// bareProxy is a bare proxy process started by cpbench.
type bareProxy struct {
	// URL is where the proxy listens, http://127.0.0.1:port.
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error
}

// startBareProxy starts cpbench's own binary as a bare proxy to socket
// and waits for its address.
func startBareProxy(ctx context.Context, socket string) (*bareProxy, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start bare proxy: find own binary: %w", err)
	}
	cmd := exec.Command(exe, "-"+bareProxyFlag, socket)
	cmd.Stderr = os.Stderr
	// Like the backend, it stays out of a terminal's Ctrl-C: cpbench
	// stops it when it cleans up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start bare proxy: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start bare proxy: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bare proxy: %w", err)
	}
	p := &bareProxy{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	p.URL, err = readBareProxyURL(ctx, cmd, stdout)
	// Wait closes stdout: it may only start once the line is read.
	go func() { p.done <- cmd.Wait() }()
	if err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// readBareProxyURL reads the URL the bare proxy prints, killing the
// process if none comes within the start timeout or before ctx ends.
func readBareProxyURL(ctx context.Context, cmd *exec.Cmd, stdout io.Reader) (string, error) {
	type line struct {
		s   string
		err error
	}
	lines := make(chan line, 1)
	go func() {
		s, err := bufio.NewReader(stdout).ReadString('\n')
		lines <- line{s, err}
	}()
	var l line
	select {
	case l = <-lines:
	case <-ctx.Done():
		l.err = ctx.Err()
	case <-time.After(bareProxyStartTimeout):
		l.err = fmt.Errorf("no address within %s", bareProxyStartTimeout)
	}
	if l.err != nil {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			l.err = errors.Join(l.err, fmt.Errorf("kill: %w", err))
		}
		return "", fmt.Errorf("start bare proxy: %w", l.err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(l.s), bareProxyListening)
	if !ok || !strings.HasPrefix(url, "http://") {
		return "", fmt.Errorf("start bare proxy: unexpected first line %q", l.s)
	}
	return url, nil
}

// PID returns the bare proxy's process id.
func (p *bareProxy) PID() int { return p.cmd.Process.Pid }

// stop closes the bare proxy's stdin, which ends it, and kills it if it
// has not exited within the stop timeout. It may be called again.
func (p *bareProxy) stop() error {
	var errs []error
	if err := p.stdin.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		errs = append(errs, fmt.Errorf("stop bare proxy: close stdin: %w", err))
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			errs = append(errs, fmt.Errorf("bare proxy exited with %w", err))
		}
		return errors.Join(errs...)
	case <-time.After(bareProxyStopTimeout):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return errors.Join(append(errs, fmt.Errorf("kill bare proxy: %w", err))...)
	}
	err := <-p.done
	p.done <- err
	errs = append(errs, fmt.Errorf("bare proxy ignored its stdin closing for %s and was killed",
		bareProxyStopTimeout))
	return errors.Join(errs...)
}

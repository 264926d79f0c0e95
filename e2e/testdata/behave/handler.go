// Package function is a test function whose paths act out what the
// execution engine must cope with: slow starts, long and streamed
// answers, crashes, memory exhaustion and huge or binary output.
package function

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// started is when the instance started: it tells instances apart.
var started = time.Now().UnixNano()

func init() {
	if d, err := time.ParseDuration(os.Getenv("SLOW_START")); err == nil {
		time.Sleep(d)
	}
}

// Handle dispatches on the first path segment.
func Handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if strings.HasPrefix(strings.TrimLeft(r.URL.Path, "/"), "echo/") {
		echo(w, r) // any path below /echo/, to see what arrived
		return
	}
	switch strings.Trim(r.URL.Path, "/") {
	case "echo":
		echo(w, r)
	case "body":
		// Read it all first: an HTTP/1 server may stop reading the
		// request once the response has started.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Write(body)
		fmt.Printf("echoed %d bytes\n", len(body))
	case "sleep":
		d, _ := time.ParseDuration(q.Get("d"))
		select {
		case <-time.After(d):
			fmt.Fprintf(w, "slept %s\n", d)
		case <-r.Context().Done():
			fmt.Println("sleep cancelled")
		}
	case "sse":
		sse(w, r)
	case "big":
		n, _ := strconv.Atoi(q.Get("n"))
		if q.Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write(make([]byte, n))
	case "bighead":
		// Headers of n bytes: the platform must not hold them all.
		n, _ := strconv.Atoi(q.Get("n"))
		w.Header().Set("X-Big", strings.Repeat("h", n))
		w.WriteHeader(http.StatusOK)
	case "hangup":
		// Close the call's connection without answering, after d.
		d, _ := time.ParseDuration(q.Get("d"))
		time.Sleep(d)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case "crash":
		fmt.Println("crashing now")
		os.Exit(3)
	case "oom":
		var hog [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			hog = append(hog, b)
		}
	case "biglog":
		os.Stdout.Write([]byte(strings.Repeat("x", 1<<20) + "\n"))
		fmt.Fprintln(w, "logged a megabyte")
	case "binlog":
		os.Stdout.Write([]byte{0, 1, 2, 0xff, 0xfe, '\n', 0x80, 0x1e, 'z', '\n'})
		fmt.Fprintln(w, "logged binary")
	case "hijack":
		hijack(w, q.Get("target"))
	case "raw":
		// Answer with the bytes of "answer" as they are, HTTP or not,
		// then close the connection. A "tag" is logged, so that a test
		// can count the runs.
		if tag := q.Get("tag"); tag != "" {
			fmt.Println("raw run", tag)
		}
		if conn, rw, err := http.NewResponseController(w).Hijack(); err == nil {
			rw.WriteString(q.Get("answer"))
			rw.Flush()
			conn.Close()
		}
	case "inflight":
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			m := maxInflight.Load()
			if n <= m || maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		d, _ := time.ParseDuration(q.Get("d"))
		time.Sleep(d)
		fmt.Fprintf(w, "max=%d\n", maxInflight.Load())
	case "ws":
		upgrade(w)
	case "log":
		fmt.Println("out:", q.Get("msg"))
		fmt.Fprintln(os.Stderr, "err:", q.Get("msg"))
		fmt.Fprintln(w, "logged", q.Get("msg"))
	default:
		http.Error(w, "no such path", http.StatusNotFound)
	}
}

var inflight, maxInflight atomic.Int64

// hijack replaces the instance's socket with a link to target, as a
// hostile function could: the platform must never follow it.
func hijack(w http.ResponseWriter, target string) {
	sock := os.Getenv("CONTAINERPUB_SOCKET")
	tmp := filepath.Join(filepath.Dir(sock), ".l")
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	if err := os.Rename(tmp, sock); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Connection", "close")
	fmt.Fprintln(w, "hijacked")
}

// upgrade switches the connection to a line echo protocol.
func upgrade(w http.ResponseWriter) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	defer conn.Close()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	rw.Flush()
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		rw.WriteString(line)
		rw.Flush()
	}
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Behave", "yes")
	json.NewEncoder(w).Encode(map[string]any{
		"method":   r.Method,
		"path":     r.URL.Path,
		"raw_path": r.URL.EscapedPath(),
		"query":    r.URL.RawQuery,
		"headers":  r.Header,
		"body":     string(body),
		"instance": started,
	})
}

func sse(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	gap, _ := time.ParseDuration(r.URL.Query().Get("gap"))
	w.Header().Set("Content-Type", "text/event-stream")
	f := w.(http.Flusher)
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(gap)
		}
		fmt.Fprintf(w, "data: event %d\n\n", i)
		f.Flush()
	}
}

// Command fnapp is the function the runtime conformance suite runs. It is
// compiled statically on the host and copied into a FROM scratch image, so
// it must use nothing but the standard library and the kernel.
//
// FN_STARTUP lists comma-separated steps run before it listens:
//
//	lines      three lines to stdout, two to stderr
//	bigline    one line of 1 MiB to stdout
//	binary     every byte value four times to stdout, then a newline
//	sleep=MS   wait before going on
//	alloc=MB   allocate and touch MB MiB, to run into a memory limit
//	exit=N     exit with code N
//	ignoreterm ignore SIGTERM, so that only a kill stops it
//
// Otherwise SIGTERM makes it exit with code 43 (TermExitCode in the
// suite): as PID 1 of its container it would not die of the signal.
//
// It then answers HTTP on the unix socket named by CONTAINERPUB_SOCKET:
//
//	GET  /               "ok"
//	GET  /env?name=X     the value of X
//	GET  /probe          a JSON report of the process's confinement
//	GET  /status         /proc/self/status
//	GET  /limits         /proc/self/limits
//	POST /print?stream=stdout|stderr&text=T   writes T and a newline
//	GET  /alloc?mb=N     allocates and touches N MiB
//	GET  /burn?ms=N      spins on the CPU for N milliseconds
//	GET  /exit?code=N    answers, then exits with code N
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// held keeps allocations reachable so the collector cannot free them.
var held [][]byte

// termExitCode is the exit code after SIGTERM.
const termExitCode = 43

func main() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		fmt.Println("fnapp: SIGTERM")
		os.Exit(termExitCode)
	}()
	for _, step := range strings.Split(os.Getenv("FN_STARTUP"), ",") {
		if step != "" {
			runStep(step)
		}
	}
	path := os.Getenv("CONTAINERPUB_SOCKET")
	if path == "" {
		fail("CONTAINERPUB_SOCKET is not set")
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		fail("listen: " + err.Error())
	}
	fmt.Println("listening on", path)
	fail(http.Serve(l, routes()).Error())
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "fnapp:", msg)
	os.Exit(70)
}

func runStep(step string) {
	name, arg, _ := strings.Cut(step, "=")
	n, _ := strconv.Atoi(arg)
	switch name {
	case "lines":
		for i := 1; i <= 3; i++ {
			fmt.Printf("stdout line %d\n", i)
		}
		for i := 1; i <= 2; i++ {
			fmt.Fprintf(os.Stderr, "stderr line %d\n", i)
		}
	case "bigline":
		os.Stdout.Write(append([]byte(strings.Repeat("x", 1<<20)), '\n'))
	case "binary":
		os.Stdout.Write(append(binaryBytes(), '\n'))
	case "sleep":
		time.Sleep(time.Duration(n) * time.Millisecond)
	case "alloc":
		alloc(n)
	case "exit":
		os.Exit(n)
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
	default:
		fail("unknown step " + step)
	}
}

func binaryBytes() []byte {
	b := make([]byte, 0, 1024)
	for i := 0; i < 4; i++ {
		for v := 0; v < 256; v++ {
			b = append(b, byte(v))
		}
	}
	return b
}

// alloc touches every page so the memory is really charged to the
// container, not merely reserved.
func alloc(mb int) {
	for i := 0; i < mb; i++ {
		chunk := make([]byte, 1<<20)
		for p := 0; p < len(chunk); p += 4096 {
			chunk[p] = 1
		}
		held = append(held, chunk)
	}
}

func routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, os.Getenv(r.URL.Query().Get("name")))
	})
	mux.HandleFunc("GET /probe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(probe())
	})
	mux.HandleFunc("GET /status", serveFile("/proc/self/status"))
	mux.HandleFunc("GET /limits", serveFile("/proc/self/limits"))
	mux.HandleFunc("POST /print", func(w http.ResponseWriter, r *http.Request) {
		out := os.Stdout
		if r.URL.Query().Get("stream") == "stderr" {
			out = os.Stderr
		}
		fmt.Fprintln(out, r.URL.Query().Get("text"))
	})
	mux.HandleFunc("GET /alloc", func(w http.ResponseWriter, r *http.Request) {
		alloc(intParam(r, "mb"))
		io.WriteString(w, "allocated")
	})
	mux.HandleFunc("GET /burn", func(w http.ResponseWriter, r *http.Request) {
		end := time.Now().Add(time.Duration(intParam(r, "ms")) * time.Millisecond)
		for time.Now().Before(end) {
		}
		io.WriteString(w, "burnt")
	})
	mux.HandleFunc("GET /exit", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "bye")
		w.(http.Flusher).Flush()
		code := intParam(r, "code")
		go func() {
			time.Sleep(50 * time.Millisecond)
			os.Exit(code)
		}()
	})
	return mux
}

func intParam(r *http.Request, name string) int {
	n, _ := strconv.Atoi(r.URL.Query().Get(name))
	return n
}

func serveFile(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(b)
	}
}

// report mirrors runtimetest.Probe; the two are kept in step by hand
// because this program is built on its own, outside the module.
type report struct {
	UID          int      `json:"uid"`
	GID          int      `json:"gid"`
	CapEff       string   `json:"cap_eff"`
	CapBnd       string   `json:"cap_bnd"`
	NoNewPrivs   string   `json:"no_new_privs"`
	UIDMap       string   `json:"uid_map"`
	RootWriteErr string   `json:"root_write_err"`
	TmpWriteErr  string   `json:"tmp_write_err"`
	Interfaces   []string `json:"interfaces"`
	NoFileSoft   uint64   `json:"nofile_soft"`
	NoFileHard   uint64   `json:"nofile_hard"`
	NProcSoft    uint64   `json:"nproc_soft"`
	NProcHard    uint64   `json:"nproc_hard"`
}

func probe() report {
	rep := report{UID: os.Getuid(), GID: os.Getgid()}
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		key, val, _ := strings.Cut(line, ":")
		switch key {
		case "CapEff":
			rep.CapEff = strings.TrimSpace(val)
		case "CapBnd":
			rep.CapBnd = strings.TrimSpace(val)
		case "NoNewPrivs":
			rep.NoNewPrivs = strings.TrimSpace(val)
		}
	}
	uidMap, _ := os.ReadFile("/proc/self/uid_map")
	rep.UIDMap = string(uidMap)
	rep.RootWriteErr = writeErr("/probe-root")
	rep.TmpWriteErr = writeErr("/tmp/probe-tmp")
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		rep.Interfaces = append(rep.Interfaces, ifc.Name)
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		rep.NoFileSoft, rep.NoFileHard = lim.Cur, lim.Max
	}
	const rlimitNproc = 6
	if syscall.Getrlimit(rlimitNproc, &lim) == nil {
		rep.NProcSoft, rep.NProcHard = lim.Cur, lim.Max
	}
	return rep
}

// writeErr returns "" when path can be written, else the error.
func writeErr(path string) string {
	if err := os.WriteFile(path, []byte("probe"), 0o600); err != nil {
		return err.Error()
	}
	os.Remove(path)
	return ""
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/runtime/podman"
)

// deployBehave deploys the behave test function under name with the
// manifest settings given as YAML lines.
func deployBehave(t *testing.T, u *user, name, settings string) {
	t.Helper()
	dir := copyTree(t, filepath.Join(repoRoot, "e2e", "testdata", "behave"))
	writeManifest(t, dir, "name: "+name+"\npublic: true\n"+settings)
	u.deploy(t, dir)
}

func writeManifest(t *testing.T, dir, manifest string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, client.ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
}

type echoed struct {
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	RawPath  string              `json:"raw_path"`
	Query    string              `json:"query"`
	Headers  map[string][]string `json:"headers"`
	Body     string              `json:"body"`
	Instance int64               `json:"instance"`
}

func echo(t *testing.T, b *backend, name string) echoed {
	t.Helper()
	resp, body := call(t, b, "GET", name, "/echo", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /f/%s/echo = %d %s", name, resp.StatusCode, body)
	}
	var e echoed
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("echo answered %q: %v", body, err)
	}
	return e
}

// execution waits for the record of a call and returns it.
func execution(t *testing.T, u *user, name, requestID string) client.Execution {
	t.Helper()
	api := u.api(t)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		es, err := api.ListExecutions(context.Background(), name, client.ExecutionQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.RequestID == requestID {
				return e
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no execution of %s with request id %s", name, requestID)
	return client.Execution{}
}

// TestEngine checks the execution engine's behaviours against real
// Podman, each on its own function of one backend.
func TestEngine(t *testing.T) {
	b := startBackend(t, "sqlite://"+filepath.Join(t.TempDir(), "e2e.db"))
	u := newUser(t, b)

	t.Run("request_reaches_function_whole", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "echo", "")
		h := http.Header{"X-Custom": {"abc"}, client.RequestIDHeader: {"my-request-42"}}
		resp, body := call(t, b, "PUT", "echo", "/echo?a=1&b=two%20words", strings.NewReader("payload"), h)
		var e echoed
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("echo answered %d %q: %v", resp.StatusCode, body, err)
		}
		if e.Method != "PUT" || e.Path != "/echo" || e.Query != "a=1&b=two%20words" || e.Body != "payload" {
			t.Errorf("function saw %+v, want PUT /echo?a=1&b=two%%20words with body payload", e)
		}
		if got := e.Headers["X-Custom"]; len(got) != 1 || got[0] != "abc" {
			t.Errorf("function saw X-Custom %v, want [abc]", got)
		}
		if got := e.Headers[client.RequestIDHeader]; len(got) != 1 || got[0] != "my-request-42" {
			t.Errorf("function saw request id %v, want the caller's", got)
		}
		if resp.Header.Get("X-Behave") != "yes" || resp.Header.Get(client.RequestIDHeader) != "my-request-42" {
			t.Errorf("answer headers %v lack the function's X-Behave or the request id", resp.Header)
		}
		resp, _ = call(t, b, "GET", "echo", "/nope", nil, nil)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get(client.ErrorHeader) != "" {
			t.Errorf("function's own 404 came back as %d with platform header %q", resp.StatusCode, resp.Header.Get(client.ErrorHeader))
		}
	})

	// Calls the gateway's own HTTP/1.1 path leaves to net/http's server
	// (a body of unknown length or over 64 KiB, a head over 8 KiB, a
	// connection that carried another request first) reach the function
	// just the same.
	t.Run("calls_served_by_net_http_work_alike", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "alike", "")
		big := bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16)
		check := func(what string, resp answer, body []byte, wantBody string, wantHeader int) {
			t.Helper()
			var e echoed
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%s: echo answered %d %q: %v", what, resp.StatusCode, body, err)
			}
			if e.Body != wantBody || len(strings.Join(e.Headers["X-Big"], "")) != wantHeader {
				t.Errorf("%s: function saw a body of %d bytes and X-Big of %d, want %d and %d",
					what, len(e.Body), len(strings.Join(e.Headers["X-Big"], "")), len(wantBody), wantHeader)
			}
			if resp.Header.Get(client.RequestIDHeader) == "" || resp.Header.Get("X-Behave") != "yes" {
				t.Errorf("%s: answer headers %v lack the request id or the function's own", what, resp.Header)
			}
		}
		// Chunked: a reader of unknown length.
		resp, body := call(t, b, "POST", "alike", "/echo", io.MultiReader(strings.NewReader("pay"), strings.NewReader("load")), nil)
		check("chunked body", resp, body, "payload", 0)
		resp, body = call(t, b, "POST", "alike", "/echo", bytes.NewReader(big), nil)
		check("100 KiB body", resp, body, string(big), 0)
		resp, body = call(t, b, "GET", "alike", "/echo", nil, http.Header{"X-Big": {strings.Repeat("h", 20<<10)}})
		check("20 KiB header", resp, body, "", 20<<10)

		c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
		defer c.CloseIdleConnections()
		for _, path := range []string{"/healthz", "/f/alike/echo"} {
			r, err := c.Post(b.URL+path, "text/plain", strings.NewReader("after"))
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if path == "/healthz" {
				continue // a POST there is refused; the connection goes on
			}
			check("call after an API request on one connection", answer{r.StatusCode, r.Header}, data, "after", 0)
		}
	})

	t.Run("slow_start_is_waited_for", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "slow", "env:\n  SLOW_START: 2s\n")
		// The deploy warmed one instance; stopping it makes the next call
		// a cold start of a function that takes 2 s to listen.
		scaleToZero(t, b, u, "slow")
		start := time.Now()
		e := echo(t, b, "slow")
		if d := time.Since(start); d < 2*time.Second || e.Path != "/echo" {
			t.Errorf("first call answered %+v after %s, want an answer after the 2 s start", e, d)
		}
	})

	t.Run("burst_shares_cold_starts", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "burst", "scaling:\n  concurrency: 200\n  max_instances: 5\n")
		scaleToZero(t, b, u, "burst")
		ids := burst(t, b, "burst", 100)
		instances := map[string]bool{}
		for _, id := range ids {
			instances[execution(t, u, "burst", id).InstanceID] = true
		}
		if len(instances) != 1 {
			t.Errorf("100 first calls with concurrency 200 used %d instances, want 1", len(instances))
		}
	})

	t.Run("burst_within_max_instances", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "burst1", "scaling:\n  concurrency: 1\n  max_instances: 4\n")
		scaleToZero(t, b, u, "burst1")
		ids := burst(t, b, "burst1", 40)
		instances := map[string]bool{}
		for _, id := range ids {
			instances[execution(t, u, "burst1", id).InstanceID] = true
		}
		if len(instances) < 1 || len(instances) > 4 {
			t.Errorf("40 first calls with concurrency 1, max 4 used %d instances, want 1 to 4", len(instances))
		}
	})

	t.Run("long_timeout_is_honoured", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "patient", "limits:\n  timeout: 100s\n")
		resp, body := call(t, b, "GET", "patient", "/sleep?d=70s", nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "slept 1m10s") {
			t.Errorf("a 70 s call with a 100 s timeout = %d %q, want 200", resp.StatusCode, body)
		}
	})

	t.Run("short_timeout_is_enforced", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "hasty", "limits:\n  timeout: 2s\n")
		before := echo(t, b, "hasty").Instance
		start := time.Now()
		resp, body := call(t, b, "GET", "hasty", "/sleep?d=30s", nil, nil)
		if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), "timeout") {
			t.Errorf("a 30 s call with a 2 s timeout = %d %q, want 504 saying timeout", resp.StatusCode, body)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("timeout answered after %s", d)
		}
		ex := execution(t, u, "hasty", resp.Header.Get(client.RequestIDHeader))
		if ex.Status != client.ExecutionTimeout {
			t.Errorf("execution status = %s, want timeout", ex.Status)
		}
		// The instance that ran the call was stopped: the next call runs
		// on a new one.
		if after := echo(t, b, "hasty").Instance; after == before {
			t.Errorf("the timed-out instance still serves calls")
		}
	})

	t.Run("body_limits", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "limits", "limits:\n  max_request_kb: 64\n  max_response_kb: 64\n")
		testBodyLimits(t, b)
	})

	t.Run("server_sent_events_stream", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "events", "")
		testSSE(t, b)
	})

	t.Run("crash_gives_502_and_a_fresh_instance", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "crashy", "")
		before := echo(t, b, "crashy").Instance
		resp, body := call(t, b, "GET", "crashy", "/crash", nil, nil)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "exited with code 3") {
			t.Errorf("crash = %d %q, want 502 saying it exited with code 3", resp.StatusCode, body)
		}
		ex := execution(t, u, "crashy", resp.Header.Get(client.RequestIDHeader))
		if ex.Status != client.ExecutionError || !strings.Contains(ex.Error, "exited with code 3") ||
			!strings.Contains(ex.Logs, "crashing now") {
			t.Errorf("crash execution = %+v, want failed with the reason and its output", ex)
		}
		if after := echo(t, b, "crashy").Instance; after == before {
			t.Errorf("the crashed instance still serves calls")
		}
	})

	t.Run("out_of_memory_gives_502", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "hungry", "limits:\n  memory_mb: 32\n")
		resp, body := call(t, b, "GET", "hungry", "/oom", nil, nil)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "out of memory") {
			t.Errorf("oom = %d %q, want 502 saying out of memory", resp.StatusCode, body)
		}
		ex := execution(t, u, "hungry", resp.Header.Get(client.RequestIDHeader))
		if ex.Status != client.ExecutionError || !strings.Contains(ex.Error, "out of memory") {
			t.Errorf("oom execution = %+v, want failed, out of memory", ex)
		}
		if e := echo(t, b, "hungry"); e.Path != "/echo" {
			t.Errorf("after the OOM the next call got %+v", e)
		}
	})

	t.Run("huge_and_binary_logs", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "chatty", "")
		testLogs(t, b, u)
	})

	t.Run("idle_scale_down_spares_calls_in_flight", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "idler", "scaling:\n  idle_timeout: 1s\n")
		resp, body := call(t, b, "GET", "idler", "/sleep?d=4s", nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("a 4 s call on a function idle after 1 s = %d %q, want 200", resp.StatusCode, body)
		}
		time.Sleep(3 * time.Second)
		resp, _ = call(t, b, "GET", "idler", "/echo", nil, nil)
		ex := execution(t, u, "idler", resp.Header.Get(client.RequestIDHeader))
		if !ex.ColdStart {
			t.Errorf("a call 3 s after the last, with a 1 s idle timeout, was not a cold start")
		}
	})

	t.Run("min_instances_stay_warm", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "keepwarm", "scaling:\n  idle_timeout: 1s\n  min_instances: 1\n")
		before := echo(t, b, "keepwarm").Instance
		time.Sleep(3 * time.Second)
		resp, body := call(t, b, "GET", "keepwarm", "/echo", nil, nil)
		var e echoed
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("echo answered %d %q: %v", resp.StatusCode, body, err)
		}
		ex := execution(t, u, "keepwarm", resp.Header.Get(client.RequestIDHeader))
		if ex.ColdStart || e.Instance != before {
			t.Errorf("with min_instances 1, a call after the idle timeout was cold (%v) or ran on a new instance (%v)",
				ex.ColdStart, e.Instance != before)
		}
	})

	t.Run("queue_full_gives_429", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "narrow", "scaling:\n  concurrency: 1\n  max_instances: 1\n  max_queue: 1\n  queue_timeout: 2s\n")
		testQueue(t, b)
	})
}

// scaleToZero waits until the function has no running instance: it
// redeploys nothing, it only waits out a short idle timeout set by the
// manifest, or removes the running instances through Podman.
func scaleToZero(t *testing.T, b *backend, u *user, name string) {
	t.Helper()
	f, err := u.api(t).GetFunction(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := podman.New(podmanSocket, podman.Options{InstancesDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ctrs, err := d.List(ctx, map[string]string{runtime.LabelFunction: f.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ctrs {
		if c.State == runtime.StateRunning {
			if err := d.Stop(ctx, c.ID, time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The backend notices the exits; give it a moment.
	time.Sleep(500 * time.Millisecond)
}

// burst sends n simultaneous calls and returns their request ids; every
// call must succeed.
func burst(t *testing.T, b *backend, name string, n int) []string {
	t.Helper()
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make(chan string, n)
	startGate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			resp, err := http.Get(b.URL + "/f/" + name + "/echo")
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Sprintf("%d %s", resp.StatusCode, body)
				return
			}
			ids[i] = resp.Header.Get(client.RequestIDHeader)
		}()
	}
	close(startGate)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("burst call failed: %s", e)
	}
	return ids
}

func testBodyLimits(t *testing.T, b *backend) {
	limit := 64 << 10
	exact := make([]byte, limit)
	rand.Read(exact)
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	resp, body := call(t, b, "POST", "limits", "/body", bytes.NewReader(exact), h)
	if resp.StatusCode != 200 || !bytes.Equal(body, exact) {
		t.Errorf("a body of exactly the limit = %d, %d bytes back, equal %v; want 200 and the same bytes",
			resp.StatusCode, len(body), bytes.Equal(body, exact))
	}
	resp, body = call(t, b, "POST", "limits", "/body", nil, nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("an empty body = %d %q, want 200 and nothing", resp.StatusCode, body)
	}
	// Chunked: no Content-Length, so the limit is found while streaming.
	resp, body = call(t, b, "POST", "limits", "/body", io.MultiReader(bytes.NewReader(exact[:1000]), bytes.NewReader(exact[1000:])), h)
	if resp.StatusCode != 200 || !bytes.Equal(body, exact) {
		t.Errorf("a chunked body of the limit = %d, equal %v; want 200 and the same bytes", resp.StatusCode, bytes.Equal(body, exact))
	}
	over := append(exact, 'x')
	resp, body = call(t, b, "POST", "limits", "/body", bytes.NewReader(over), h)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "64 KiB") {
		t.Errorf("a body over the limit = %d %q, want 413 naming the limit", resp.StatusCode, body)
	}
	resp, body = call(t, b, "POST", "limits", "/body", io.MultiReader(bytes.NewReader(over[:10]), bytes.NewReader(over[10:])), h)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a chunked body over the limit = %d %q, want 413", resp.StatusCode, body)
	}
	resp, body = call(t, b, "GET", "limits", fmt.Sprintf("/big?n=%d", limit), nil, nil)
	if resp.StatusCode != 200 || len(body) != limit {
		t.Errorf("a response of exactly the limit = %d with %d bytes, want 200 with %d", resp.StatusCode, len(body), limit)
	}
	resp, body = call(t, b, "GET", "limits", fmt.Sprintf("/big?n=%d", limit+1), nil, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "response") {
		t.Errorf("a response over the limit = %d %q, want 413 about the response", resp.StatusCode, body)
	}
	// A streamed answer over the limit is cut: the caller never gets more
	// than the limit.
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/f/limits/big?n=%d&chunked=1", b.URL, 4*limit), nil)
	streamed, err := http.DefaultClient.Do(req)
	if err == nil {
		got, rerr := io.ReadAll(streamed.Body)
		streamed.Body.Close()
		if rerr == nil || len(got) > limit {
			t.Errorf("a streamed response over the limit gave %d bytes, read error %v; want it cut at %d", len(got), rerr, limit)
		}
	}
}

func testSSE(t *testing.T, b *backend) {
	start := time.Now()
	resp, err := http.Get(b.URL + "/f/events/sse?n=3&gap=1500ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	first := time.Since(start)
	if err != nil || line != "data: event 0\n" {
		t.Fatalf("first SSE line = %q, %v", line, err)
	}
	rest, _ := io.ReadAll(r)
	total := time.Since(start)
	if first > total-2*time.Second {
		t.Errorf("first event after %s of %s: it did not arrive before the function finished", first, total)
	}
	if !strings.Contains(string(rest), "data: event 2") {
		t.Errorf("rest of the stream = %q, want events 1 and 2", rest)
	}
}

func testLogs(t *testing.T, b *backend, u *user) {
	resp, body := call(t, b, "GET", "chatty", "/biglog", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("biglog = %d %s", resp.StatusCode, body)
	}
	big := execution(t, u, "chatty", resp.Header.Get(client.RequestIDHeader))
	if !strings.Contains(big.Logs, "xxxx") || !strings.Contains(big.Logs, "dropped") {
		t.Errorf("the megabyte line's call logs %d bytes without a note of what was dropped", len(big.Logs))
	}
	resp, _ = call(t, b, "GET", "chatty", "/binlog", nil, nil)
	if resp.StatusCode != 200 {
		t.Errorf("binlog = %d", resp.StatusCode)
	}
	bin := execution(t, u, "chatty", resp.Header.Get(client.RequestIDHeader))
	if !strings.Contains(bin.Logs, "z") {
		t.Errorf("binary output logs = %q", bin.Logs)
	}
	for i := range 5 {
		msg := fmt.Sprintf("marker-%d", i)
		resp, body := call(t, b, "GET", "chatty", "/log?msg="+msg, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("log call = %d %s", resp.StatusCode, body)
		}
		ex := execution(t, u, "chatty", resp.Header.Get(client.RequestIDHeader))
		if !strings.Contains(ex.Logs, "out: "+msg) || !strings.Contains(ex.Logs, "err: "+msg) {
			t.Errorf("call %d logs = %q, want its stdout and stderr lines", i, ex.Logs)
		}
		if strings.Contains(ex.Logs, "xxxx") || strings.Contains(ex.Logs, fmt.Sprintf("marker-%d", i-1)) {
			t.Errorf("call %d logs hold another call's output: %q", i, ex.Logs)
		}
	}
}

func testQueue(t *testing.T, b *backend) {
	results := make(chan answer, 3)
	go func() {
		resp, _ := call(t, b, "GET", "narrow", "/sleep?d=4s", nil, nil)
		results <- resp
	}()
	time.Sleep(500 * time.Millisecond)
	go func() {
		resp, _ := call(t, b, "GET", "narrow", "/echo", nil, nil)
		results <- resp
	}()
	time.Sleep(300 * time.Millisecond)
	resp, body := call(t, b, "GET", "narrow", "/echo", nil, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a call beyond the queue = %d %q (Retry-After %q), want 429 with Retry-After",
			resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	codes := map[int]int{}
	for range 2 {
		codes[(<-results).StatusCode]++
	}
	// The queued call waited 2 s while the first took 4 s: it timed out.
	if codes[200] != 1 || codes[http.StatusTooManyRequests] != 1 {
		t.Errorf("the running and the queued call ended %v, want one 200 and one 429", codes)
	}
}

// TestRestartAdoptsInstances stops a backend while a call is in flight:
// the call finishes and is recorded, the instance keeps running, and the
// next backend process adopts it instead of starting another.
func TestRestartAdoptsInstances(t *testing.T) {
	b := startBackend(t, "sqlite://"+filepath.Join(t.TempDir(), "e2e.db"))
	u := newUser(t, b)
	deployBehave(t, u, "keeper", "")
	before := echo(t, b, "keeper").Instance

	done := make(chan answer, 1)
	go func() {
		resp, _ := call(t, b, "GET", "keeper", "/sleep?d=3s", nil, nil)
		done <- resp
	}()
	time.Sleep(time.Second)
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	resp := <-done
	if resp.StatusCode != 200 {
		t.Fatalf("the call in flight at shutdown = %d, want 200", resp.StatusCode)
	}
	if err := <-b.done; err != nil {
		t.Fatalf("backend exit: %v\n%s", err, b.log.String())
	}
	b.cmd = nil
	b.start(t)

	after := echo(t, b, "keeper")
	if after.Instance != before {
		t.Errorf("after the restart a new instance answered: the running one was not adopted")
	}
	ex := execution(t, u, "keeper", resp.Header.Get(client.RequestIDHeader))
	if ex.Status != client.ExecutionSuccess || ex.HTTPStatus != 200 {
		t.Errorf("the drained call's record = %+v, want success", ex)
	}
	f, err := u.api(t).GetFunction(context.Background(), "keeper")
	if err != nil {
		t.Fatal(err)
	}
	d, err := podman.New(podmanSocket, podman.Options{InstancesDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctrs, err := d.List(context.Background(), map[string]string{runtime.LabelFunction: f.ID})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, c := range ctrs {
		if c.State == runtime.StateRunning {
			running++
		}
	}
	if running != 1 {
		t.Errorf("%d running containers after the restart, want the one adopted", running)
	}
}

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerpub/containerpub/client"
)

// TestHostileFunctionsAndCallers checks what a function or a caller might
// try against the platform, each on its own function of one backend.
func TestHostileFunctionsAndCallers(t *testing.T) {
	b := startBackend(t, "sqlite://"+t.TempDir()+"/e2e.db")
	u := newUser(t, b)

	t.Run("socket_swapped_for_a_link_is_not_followed", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "hijacker", "")
		// The function points its socket at the Podman API of the host.
		resp, body := call(t, b, "GET", "hijacker", "/hijack?target="+podmanSocket, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("hijack = %d %s", resp.StatusCode, body)
		}
		resp, body = call(t, b, "GET", "hijacker", "/v4.0.0/libpod/info", nil, nil)
		if strings.Contains(string(body), "APIVersion") || strings.Contains(string(body), "ociRuntime") {
			t.Fatalf("a call reached the host's Podman API through the function's link: %d %.200s", resp.StatusCode, body)
		}
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("call to the hijacked instance = %d %q, want 502", resp.StatusCode, body)
		}
		// The broken instance is replaced.
		if e := echo(t, b, "hijacker"); e.Path != "/echo" {
			t.Errorf("after the hijack the next call got %+v", e)
		}
	})

	t.Run("platform_tokens_never_reach_functions", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "snoop", "")
		other := newUser(t, b)
		h := http.Header{"Authorization": {"Bearer " + other.token(t)}}
		_, body := call(t, b, "GET", "snoop", "/echo", nil, h)
		var e echoed
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("echo answered %q: %v", body, err)
		}
		if got := e.Headers["Authorization"]; len(got) != 0 {
			t.Errorf("a public function saw its caller's platform token: %v", got)
		}
		// Nor behind another credential, in a second header or a list.
		for _, vs := range [][]string{
			{"Basic Zm9vOmJhcg==", "Bearer " + other.token(t)},
			{"Basic Zm9vOmJhcg==, Bearer " + other.token(t)},
		} {
			_, body = call(t, b, "GET", "snoop", "/echo", nil, http.Header{"Authorization": vs})
			e = echoed{}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("echo answered %q: %v", body, err)
			}
			if got := e.Headers["Authorization"]; strings.Contains(strings.Join(got, ","), "cpt_") {
				t.Errorf("a public function saw a platform token sent as %d values: %v", len(vs), got)
			}
		}
		// A function's own scheme passes.
		h = http.Header{"Authorization": {"Bearer app-secret"}}
		_, body = call(t, b, "GET", "snoop", "/echo", nil, h)
		if err := json.Unmarshal(body, &e); err != nil || len(e.Headers["Authorization"]) != 1 {
			t.Errorf("a function's own Authorization header did not pass: %q", body)
		}
	})

	t.Run("upgraded_connections_work", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "upgrader", "")
		conn := rawCall(t, b, "GET /f/upgrader/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A 101 answer has no body; the connection is the stream.
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade = %d, want 101", resp.StatusCode)
		}
		fmt.Fprintf(conn, "ping\n")
		line, err := br.ReadString('\n')
		if err != nil || line != "ping\n" {
			t.Errorf("echo over the upgraded connection = %q, %v", line, err)
		}
	})

	t.Run("hanging_up_does_not_free_the_slot", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "narrow1", "scaling:\n  concurrency: 1\n  max_instances: 1\n  queue_timeout: 60s\n")
		hasty := &http.Client{Timeout: 300 * time.Millisecond}
		for range 3 {
			resp, err := hasty.Get(b.URL + "/f/narrow1/inflight?d=2s")
			if err == nil {
				resp.Body.Close()
			}
		}
		_, body := call(t, b, "GET", "narrow1", "/inflight?d=0s", nil, nil)
		if strings.TrimSpace(string(body)) != "max=1" {
			t.Errorf("with concurrency 1 the function saw %q calls at once, want max=1", body)
		}
	})

	// Callers that send a call and hang up while it waits for the only
	// slot: their calls leave the queue instead of running for nobody.
	t.Run("callers_gone_while_queued_do_not_run", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "queuegone", "scaling:\n  concurrency: 1\n  max_instances: 1\n  queue_timeout: 60s\n")
		echo(t, b, "queuegone")
		busy := make(chan answer, 1)
		go func() {
			resp, _ := call(t, b, "GET", "queuegone", "/sleep?d=4s", nil, nil)
			busy <- resp
		}()
		time.Sleep(300 * time.Millisecond)
		// The first call has no body; the next ones have bodies that the
		// own path hands to net/http's: chunked and whole, chunked and cut
		// off, longer than the own path takes and cut off, longer than
		// what a waiting call's body is read ahead (64 KiB) and cut off
		// past it, and one that waits for 100 Continue. The last is cut
		// off on the own path, which reads it before the call waits.
		bodies := []string{
			"\r\n",
			"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			"Transfer-Encoding: chunked\r\n\r\n400\r\n" + strings.Repeat("x", 100),
			"Content-Length: 100000\r\n\r\n" + strings.Repeat("x", 10000),
			"Content-Length: 300000\r\n\r\n" + strings.Repeat("x", 100000),
			"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n",
			"Content-Length: 100\r\n\r\n" + strings.Repeat("x", 10),
		}
		for i, rest := range bodies {
			conn := rawCall(t, b, fmt.Sprintf("POST /f/queuegone/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-%d\r\n", i)+rest)
			time.Sleep(50 * time.Millisecond)
			_ = conn.Close()
		}
		// A caller that closes only its sending side leaves like the
		// others, and is not told its call succeeded.
		half := rawCall(t, b, "POST /f/queuegone/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-half\r\n"+
			"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
		time.Sleep(50 * time.Millisecond)
		if err := half.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		_ = half.SetReadDeadline(time.Now().Add(time.Second)) // before the slot frees
		if line, err := bufio.NewReader(half).ReadString('\n'); err == nil || line != "" {
			t.Errorf("a caller that closed its sending side while queued read %q, %v; want the connection closed", line, err)
		}
		if r := <-busy; r.StatusCode != 200 {
			t.Fatalf("the call holding the slot = %d, want 200", r.StatusCode)
		}
		ids := []string{"gone-half"}
		for i := range bodies {
			ids = append(ids, fmt.Sprintf("gone-%d", i))
		}
		for i, id := range ids {
			ex := execution(t, u, "queuegone", id)
			if ex.Status != client.ExecutionRejected || ex.InstanceID != "" || !strings.Contains(ex.Error, "went away") {
				t.Errorf("call %d of a caller gone while queued: %s on %q, %q; want rejected, never on an instance",
					i, ex.Status, ex.InstanceID, ex.Error)
			}
		}
	})

	// A body that is not well formed is the caller's fault: a 400 that
	// says so, whether the call had its slot or waited for one, and the
	// instance goes on serving.
	t.Run("malformed_bodies_are_refused_and_spare_the_instance", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "badbody", "scaling:\n  concurrency: 1\n  max_instances: 1\n  queue_timeout: 60s\n")
		first := echo(t, b, "badbody")
		const bad = "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
		refused := func(id string) {
			t.Helper()
			conn := rawCall(t, b, "POST /f/badbody/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: "+id+"\r\n"+bad)
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("%s: no answer within a second: %v", id, err)
			}
			data, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "request body is malformed") {
				t.Errorf("%s: %d %s; want 400 saying the body is malformed", id, resp.StatusCode, data)
			}
		}
		// The records are read at the end: they are written a second
		// behind, and the slot must still be taken while the calls wait.
		defer func() {
			for _, id := range []string{"bad-free", "bad-queued"} {
				ex := execution(t, u, "badbody", id)
				if ex.Status != client.ExecutionRejected || ex.HTTPStatus != http.StatusBadRequest {
					t.Errorf("%s: recorded %s %d %q; want rejected 400", id, ex.Status, ex.HTTPStatus, ex.Error)
				}
			}
		}()
		refused("bad-free")
		if e := echo(t, b, "badbody"); e.Instance != first.Instance {
			t.Errorf("after a malformed body the next call ran on instance %d, want the same instance %d", e.Instance, first.Instance)
		}

		// While the only slot is taken, the body is read ahead, and the
		// call refused at once.
		busy := make(chan answer, 1)
		go func() {
			resp, _ := call(t, b, "GET", "badbody", "/sleep?d=5s", nil, nil)
			busy <- resp
		}()
		time.Sleep(300 * time.Millisecond)
		refused("bad-queued")
		select {
		case <-busy:
			t.Errorf("the malformed body was answered only after the slot was free")
		default:
		}

		// A caller that waits for 100 Continue is not told to send its
		// body while its call waits: it might only be refused.
		conn := rawCall(t, b, "POST /f/badbody/echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(conn)
		_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if line, err := br.ReadString('\n'); err == nil {
			t.Errorf("a call waiting for a slot was answered %q before the slot was free", line)
		}
		if r := <-busy; r.StatusCode != 200 {
			t.Fatalf("the call holding the slot = %d, want 200", r.StatusCode)
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := br.ReadString('\n')
		if err != nil || !strings.Contains(line, "100") {
			t.Fatalf("once the slot was free the call got %q, %v; want 100 Continue", line, err)
		}
		if _, err := br.ReadString('\n'); err != nil { // the blank line after it
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		var e echoed
		err = json.NewDecoder(resp.Body).Decode(&e)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || e.Body != "hello" || e.Instance != first.Instance {
			t.Errorf("the call that waited for 100 Continue = %d, %+v, %v; want its body echoed on instance %d",
				resp.StatusCode, e, err, first.Instance)
		}
	})

	t.Run("answers_that_are_not_http_alike_on_both_paths", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "rawans", "")
		// A call without a body takes the own path; a chunked body hands
		// it to net/http's.
		paths := []struct {
			name string
			body func() io.Reader
		}{
			{"own path", func() io.Reader { return nil }},
			{"net/http path", func() io.Reader { return io.MultiReader(strings.NewReader("x")) }},
		}
		send := func(body io.Reader, answer string) (*http.Response, error) {
			req, err := http.NewRequest("POST", b.URL+"/f/rawans/raw?answer="+url.QueryEscape(answer), body)
			if err != nil {
				t.Fatal(err)
			}
			return http.DefaultClient.Do(req)
		}
		// The function closes the connection after each raw answer; a
		// good one says so.
		const chunked = "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nhi\r\n0\r\n"
		for _, p := range paths {
			for _, bad := range []string{"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "SSH-2.0-x\r\n\r\n"} {
				resp, err := send(p.body(), bad)
				if err != nil {
					t.Fatalf("%s, answer %q: %v", p.name, bad, err)
				}
				data, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(data), "instance failed: invalid HTTP answer") {
					t.Errorf("%s, answer %q: %d %s; want 502 saying the answer was not HTTP", p.name, bad, resp.StatusCode, data)
				}
			}
			// Trailers pass; a malformed trailer breaks the answer.
			resp, err := send(p.body(), chunked+"X-Sum: 7\r\n\r\n")
			if err != nil {
				t.Fatalf("%s, answer with a trailer: %v", p.name, err)
			}
			data, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil || string(data) != "hi" || resp.Trailer.Get("X-Sum") != "7" {
				t.Errorf("%s, answer with a trailer: %q, trailer %v, error %v; want %q and X-Sum 7", p.name, data, resp.Trailer, err, "hi")
			}
			resp, err = send(p.body(), chunked+"no colon\r\n\r\n")
			if err != nil {
				t.Fatalf("%s, answer with a bad trailer: %v", p.name, err)
			}
			data, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err == nil {
				t.Errorf("%s, answer with a bad trailer: read %q in full, want the answer broken off", p.name, data)
			}
		}
		if e := echo(t, b, "rawans"); e.Path != "/echo" {
			t.Errorf("after the bad answers the next call got %+v", e)
		}
		// A function that closes its connection right after an answer
		// that did not say so: the next call, with a body that cannot
		// be sent twice, goes on a new connection, on either path. (The
		// pause lets the function's close land: one that comes after
		// the next call was sent fails that call, as with any client.
		// It is shorter than the 50 ms an idle connection had to wait
		// for the check before.)
		for _, p := range paths {
			for i := range 3 {
				resp, err := send(p.body(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				if err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				data, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 || string(data) != "ok" {
					t.Fatalf("%s: answer without Connection: close = %d %q", p.name, resp.StatusCode, data)
				}
				time.Sleep(20 * time.Millisecond)
				body := p.body()
				if body == nil {
					body = strings.NewReader("x") // a body of known length: the own path
				}
				a, data := call(t, b, "POST", "rawans", "/echo", body, nil)
				if a.StatusCode != 200 {
					t.Errorf("%s, call %d right after the function closed a kept-alive connection = %d %s", p.name, i, a.StatusCode, data)
				}
			}
		}
	})

	// A call that reached the function and failed without an answer may
	// have run: only a safe method without a body is sent again, and a
	// call that got any of its answer never is.
	t.Run("calls_that_may_have_run_are_not_sent_twice", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "once", "")
		runs := func(tag string) int {
			es, err := u.api(t).Logs(context.Background(), "once", client.LogQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range es {
				for line := range strings.Lines(e.Text) {
					if strings.TrimSuffix(line, "\n") == "raw run "+tag {
						n++
					}
				}
			}
			return n
		}
		cases := []struct {
			method, tag, answer string
			body                func() io.Reader
			want                int
		}{
			{"GET", "get-nothing", "", nil, 2},
			{"POST", "post-nothing", "", nil, 1},
			{"GET", "get-continue", "HTTP/1.1 100 Continue\r\n\r\n", nil, 1},
			{"GET", "get-cut", "HTTP/1.1 200 OK\r\n", nil, 1},
			{"POST", "chunked-nothing", "", func() io.Reader { return io.MultiReader(strings.NewReader("x")) }, 1},
		}
		// Each call without a body goes once on the own path (a new
		// connection to the backend) and once on net/http's (a connection
		// that a chunked call handed to it).
		own := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		handed := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
		if resp, err := handed.Post(b.URL+"/f/once/echo", "text/plain", io.MultiReader(strings.NewReader("x"))); err != nil {
			t.Fatal(err)
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		type run struct {
			tag  string
			want int
		}
		var all []run
		for _, tc := range cases {
			paths := map[string]*http.Client{"own": own, "nethttp": handed}
			if tc.body != nil {
				paths = map[string]*http.Client{"nethttp": handed}
			}
			for pname, cl := range paths {
				tag := tc.tag + "-" + pname
				echo(t, b, "once") // leaves a kept-alive connection to the instance
				var body io.Reader
				if tc.body != nil {
					body = tc.body()
				}
				req, err := http.NewRequest(tc.method, b.URL+"/f/once/raw?tag="+tag+"&answer="+url.QueryEscape(tc.answer), body)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := cl.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", tag, err)
				}
				data, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusBadGateway {
					t.Errorf("%s: %d %s; want 502", tag, resp.StatusCode, data)
				}
				all = append(all, run{tag, tc.want})
			}
		}
		deadline := time.Now().Add(15 * time.Second)
		for _, r := range all {
			for runs(r.tag) < r.want && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
		}
		time.Sleep(2 * time.Second) // lines of a run too many would be in by now
		for _, r := range all {
			if got := runs(r.tag); got != r.want {
				t.Errorf("%s: the function ran %d times, want %d", r.tag, got, r.want)
			}
		}
	})

	t.Run("endless_answer_headers_are_refused", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "bighead", "limits:\n  memory_mb: 128\n")
		resp, body := call(t, b, "GET", "bighead", "/bighead?n=3000000", nil, nil)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "headers are over the limit") {
			t.Errorf("3 MB of answer headers = %d %q, want 502 naming the header limit", resp.StatusCode, body)
		}
		resp, body = call(t, b, "GET", "bighead", "/bighead?n=1000", nil, nil)
		if resp.StatusCode != 200 || len(resp.Header.Get("X-Big")) != 1000 {
			t.Errorf("1 KB of answer headers = %d %q, want 200 with them", resp.StatusCode, body)
		}
	})

	// A caller that trickles its body in, or never reads the answer,
	// holds the only slot of a function no longer than its timeout.
	narrow := "scaling:\n  concurrency: 1\n  max_instances: 1\n  queue_timeout: 60s\n" +
		"limits:\n  timeout: 2s\n  max_response_kb: 102400\n  memory_mb: 256\n"
	t.Run("slow_caller_body_is_cut_at_the_timeout", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "trickle", narrow)
		echo(t, b, "trickle")
		conn := rawCall(t, b, "POST /f/trickle/body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
		start := time.Now()
		go func() {
			for range 100 {
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to a trickled body: %v", err)
		}
		_ = resp.Body.Close()
		if took := time.Since(start); resp.StatusCode != http.StatusGatewayTimeout || took > 10*time.Second {
			t.Errorf("trickled body: %d after %s, want 504 soon after the 2 s timeout", resp.StatusCode, took)
		}
		if resp, body := call(t, b, "GET", "trickle", "/echo", nil, nil); resp.StatusCode != 200 {
			t.Errorf("call after the trickled one = %d %q, want 200", resp.StatusCode, body)
		}
	})

	t.Run("caller_that_never_reads_is_cut_at_the_timeout", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "deaf", narrow)
		echo(t, b, "deaf")
		// 64 MB is far more than the sockets between here and the
		// function buffer: the backend's writes block on this caller.
		rawCall(t, b, "GET /f/deaf/big?n=67108864 HTTP/1.1\r\nHost: x\r\n\r\n")
		// Its slot is free a second after its 2 s timeout. Without the
		// cut it would stay taken as long as the caller keeps its
		// connection, and the next call would time out in the queue.
		time.Sleep(4 * time.Second)
		resp, body := call(t, b, "GET", "deaf", "/echo", nil, nil)
		if resp.StatusCode != 200 {
			t.Errorf("call after a caller that never reads = %d %q, want 200", resp.StatusCode, body)
		}
	})

	t.Run("one_calls_timeout_spares_the_others", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "shared", "scaling:\n  concurrency: 4\n  max_instances: 1\n"+
			"limits:\n  timeout: 4s\n")
		echo(t, b, "shared")
		hung := make(chan answer, 1)
		go func() {
			resp, _ := call(t, b, "GET", "shared", "/sleep?d=60s", nil, nil)
			hung <- resp
		}()
		time.Sleep(2 * time.Second)
		// This one ends a second and a half after the hung call's timeout.
		resp, body := call(t, b, "GET", "shared", "/sleep?d=3500ms", nil, nil)
		if resp.StatusCode != 200 {
			t.Errorf("call in time beside one that timed out = %d %q, want 200", resp.StatusCode, body)
		}
		if r := <-hung; r.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("hung call = %d, want 504", r.StatusCode)
		}
		if resp, body := call(t, b, "GET", "shared", "/echo", nil, nil); resp.StatusCode != 200 {
			t.Errorf("call after them = %d %q, want 200", resp.StatusCode, body)
		}
	})

	t.Run("a_late_failure_leaves_the_callers_connection_usable", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "latefail", "limits:\n  timeout: 1s\n")
		// One kept-alive connection carries every request.
		c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
		defer c.CloseIdleConnections()
		get := func(path string) (int, string) {
			resp, err := c.Get(b.URL + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		if code, body := get("/f/latefail/hangup?d=700ms"); code != http.StatusBadGateway {
			t.Errorf("function hanging up near its timeout = %d %q, want 502", code, body)
		}
		for _, path := range []string{"/f/latefail/echo", "/healthz"} {
			if code, body := get(path); code != 200 || body == "" {
				t.Errorf("GET %s on the same connection after = %d %q, want 200 with a body", path, code, body)
			}
		}
	})

	t.Run("paths_arrive_as_sent", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "paths", "")
		for _, tc := range []struct{ sent, want string }{
			{"/f/paths//echo/x%2Fy/./z", "//echo/x%2Fy/./z"},
			{"/f/p%61ths/echo/a%2Fb", "/echo/a%2Fb"},
			{"/f/paths/echo/../echo/%20", "/echo/../echo/%20"},
		} {
			resp, err := http.Get(b.URL + tc.sent)
			if err != nil {
				t.Fatal(err)
			}
			var e echoed
			err = json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != 200 || err != nil || e.RawPath != tc.want {
				t.Errorf("GET %s reached the function as %q (%d, %v), want %q", tc.sent, e.RawPath, resp.StatusCode, err, tc.want)
			}
		}
	})

	t.Run("redeploy_under_traffic_loses_no_call", func(t *testing.T) {
		t.Parallel()
		deployBehave(t, u, "steady", "")
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var calls, failures atomic.Int64
		var firstFailure atomic.Value
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					resp, err := http.Get(b.URL + "/f/steady/echo")
					calls.Add(1)
					if err != nil {
						failures.Add(1)
						firstFailure.CompareAndSwap(nil, err.Error())
						continue
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						failures.Add(1)
						firstFailure.CompareAndSwap(nil, resp.Status)
					}
				}
			}()
		}
		for i := range 2 {
			dir := copyTree(t, repoRoot+"/e2e/testdata/behave")
			writeManifest(t, dir, fmt.Sprintf("name: steady\npublic: true\nenv:\n  ROUND: \"%d\"\n", i))
			so, se, code := u.run(t, "", "deploy", dir)
			if code != 0 {
				t.Errorf("redeploy %d under traffic failed:\n%s\n%s", i, so, se)
			}
		}
		stop()
		wg.Wait()
		if failures.Load() != 0 {
			t.Errorf("%d of %d calls failed during redeploys; first: %v", failures.Load(), calls.Load(), firstFailure.Load())
		}
		f, err := u.api(t).GetFunction(context.Background(), "steady")
		if err != nil || f.ActiveVersion != 3 || f.Status != client.FunctionActive {
			t.Errorf("after two redeploys: version %d, status %s, err %v; want version 3 active", f.ActiveVersion, f.Status, err)
		}
	})
}

// rawCall opens a connection to the backend and writes head to it; the
// test reads the answer, or not, as it likes.
func rawCall(t *testing.T, b *backend, head string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	return conn
}

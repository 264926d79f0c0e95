package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// request is what a test server saw of one request.
type request struct {
	Method      string
	URI         string
	Auth        string
	UserAgent   string
	ContentType string
	Body        string
}

// answer is what a test server sends back.
type answer struct {
	status int
	body   string
}

// newTestServer starts a server that records each request and answers
// with ans, and returns a Client for it.
func newTestServer(t *testing.T, ans answer, seen *[]request) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		*seen = append(*seen, request{
			Method:      r.Method,
			URI:         r.RequestURI,
			Auth:        r.Header.Get("Authorization"),
			UserAgent:   r.Header.Get("User-Agent"),
			ContentType: r.Header.Get("Content-Type"),
			Body:        string(body),
		})
		if ans.body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(ans.status)
		io.WriteString(w, ans.body)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL+"/", "tok-1", WithUserAgent("test-agent"))
}

var (
	created  = time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC)
	userJSON = `{"id":"u1","email":"a@example.com","created_at":"2026-12-03T13:00:00Z"}`
	user     = User{ID: "u1", Email: "a@example.com", CreatedAt: created}
	fnJSON   = `{"id":"f1","name":"hello","owner_id":"u1","status":"active","url_path":"/f/hello/","active_version":2,"source_hash":"sha256:ab","created_at":"2026-12-03T13:00:00Z","updated_at":"2026-12-03T13:00:00Z"}`
	fn       = Function{ID: "f1", Name: "hello", OwnerID: "u1", Status: "active", URLPath: "/f/hello/", ActiveVersion: 2, SourceHash: "sha256:ab", CreatedAt: created, UpdatedAt: created}
	depJSON  = `{"id":"d1","function_id":"f1","version":3,"status":"queued","source_hash":"sha256:cd","created_at":"2026-12-03T13:00:00Z"}`
	dep      = Deployment{ID: "d1", FunctionID: "f1", Version: 3, Status: "queued", SourceHash: "sha256:cd", CreatedAt: created}
	execJSON = `{"id":"e1","function_id":"f1","request_id":"r1","method":"GET","path":"/","started_at":"2026-12-03T13:00:00Z","duration_ms":1.5,"status":"success","http_status":200,"cold_start":true,"request_bytes":0,"response_bytes":5,"logs":"hi\n"}`
	exec     = Execution{ID: "e1", FunctionID: "f1", RequestID: "r1", Method: "GET", Path: "/", StartedAt: created, DurationMS: 1.5, Status: "success", HTTPStatus: 200, ColdStart: true, ResponseBytes: 5, Logs: "hi\n"}
	logJSON  = `{"time":"2026-12-03T13:00:00Z","request_id":"r1","stream":"stdout","text":"hi\n"}`
	logEntry = LogEntry{Time: created, RequestID: "r1", Stream: "stdout", Text: "hi\n"}
)

func TestRoutes(t *testing.T) {
	ctx := context.Background()
	cred := Credentials{Email: "a@example.com", Password: "secret123"}
	credJSON := `{"email":"a@example.com","password":"secret123"}`
	tests := []struct {
		name string
		ans  answer
		call func(c *Client) (any, error)
		want request
		out  any
	}{
		{
			name: "register",
			ans:  answer{201, `{"token":"t2","expires_at":"2026-12-03T13:00:00Z","user":` + userJSON + `}`},
			call: func(c *Client) (any, error) { return c.Register(ctx, cred) },
			want: request{Method: "POST", URI: "/api/auth/register", ContentType: "application/json", Body: credJSON},
			out:  Session{Token: "t2", ExpiresAt: created, User: user},
		},
		{
			name: "login",
			ans:  answer{200, `{"token":"t2","expires_at":"2026-12-03T13:00:00Z","user":` + userJSON + `}`},
			call: func(c *Client) (any, error) { return c.Login(ctx, cred) },
			want: request{Method: "POST", URI: "/api/auth/login", ContentType: "application/json", Body: credJSON},
			out:  Session{Token: "t2", ExpiresAt: created, User: user},
		},
		{
			name: "logout",
			ans:  answer{204, ""},
			call: func(c *Client) (any, error) { return nil, c.Logout(ctx) },
			want: request{Method: "POST", URI: "/api/auth/logout"},
		},
		{
			name: "me",
			ans:  answer{200, userJSON},
			call: func(c *Client) (any, error) { return c.Me(ctx) },
			want: request{Method: "GET", URI: "/api/auth/me"},
			out:  user,
		},
		{
			name: "list-functions",
			ans:  answer{200, "[" + fnJSON + "]"},
			call: func(c *Client) (any, error) { return c.ListFunctions(ctx) },
			want: request{Method: "GET", URI: "/api/functions"},
			out:  []Function{fn},
		},
		{
			name: "create-function",
			ans:  answer{201, fnJSON},
			call: func(c *Client) (any, error) {
				return c.CreateFunction(ctx, CreateFunctionRequest{Name: "hello"})
			},
			want: request{Method: "POST", URI: "/api/functions", ContentType: "application/json", Body: `{"name":"hello"}`},
			out:  fn,
		},
		{
			name: "get-function-escapes",
			ans:  answer{200, fnJSON},
			call: func(c *Client) (any, error) { return c.GetFunction(ctx, "a/b?c d") },
			want: request{Method: "GET", URI: "/api/functions/a%2Fb%3Fc%20d"},
			out:  fn,
		},
		{
			name: "delete-function",
			ans:  answer{204, ""},
			call: func(c *Client) (any, error) { return nil, c.DeleteFunction(ctx, "hello") },
			want: request{Method: "DELETE", URI: "/api/functions/hello"},
		},
		{
			name: "list-deployments",
			ans:  answer{200, "[" + depJSON + "]"},
			call: func(c *Client) (any, error) { return c.ListDeployments(ctx, "hello") },
			want: request{Method: "GET", URI: "/api/functions/hello/deployments"},
			out:  []Deployment{dep},
		},
		{
			name: "get-deployment",
			ans:  answer{200, depJSON},
			call: func(c *Client) (any, error) { return c.GetDeployment(ctx, "hello", 3) },
			want: request{Method: "GET", URI: "/api/functions/hello/deployments/3"},
			out:  dep,
		},
		{
			name: "list-executions",
			ans:  answer{200, "[" + execJSON + "]"},
			call: func(c *Client) (any, error) {
				return c.ListExecutions(ctx, "hello", ExecutionQuery{Limit: 5, Before: created})
			},
			want: request{Method: "GET", URI: "/api/functions/hello/executions?before=2026-12-03T13%3A00%3A00Z&limit=5"},
			out:  []Execution{exec},
		},
		{
			name: "list-executions-no-query",
			ans:  answer{200, "[]"},
			call: func(c *Client) (any, error) { return c.ListExecutions(ctx, "hello", ExecutionQuery{}) },
			want: request{Method: "GET", URI: "/api/functions/hello/executions"},
			out:  []Execution{},
		},
		{
			name: "get-execution",
			ans:  answer{200, execJSON},
			call: func(c *Client) (any, error) { return c.GetExecution(ctx, "hello", "e1") },
			want: request{Method: "GET", URI: "/api/functions/hello/executions/e1"},
			out:  exec,
		},
		{
			name: "logs",
			ans:  answer{200, "[" + logJSON + "]"},
			call: func(c *Client) (any, error) {
				since := time.Date(2026, 12, 3, 14, 0, 0, 500, time.FixedZone("x", 3600))
				return c.Logs(ctx, "hello", LogQuery{Since: since, Limit: 10})
			},
			want: request{Method: "GET", URI: "/api/functions/hello/logs?limit=10&since=2026-12-03T13%3A00%3A00.0000005Z"},
			out:  []LogEntry{logEntry},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []request
			c := newTestServer(t, tt.ans, &seen)
			out, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			tt.want.Auth, tt.want.UserAgent = "Bearer tok-1", "test-agent"
			if diff := cmp.Diff([]request{tt.want}, seen); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.out, out); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        APIError
		wantText    string
	}{
		{
			name: "json", status: 409, contentType: "application/json",
			body:     `{"error":"name hello is taken"}`,
			want:     APIError{StatusCode: 409, Message: "name hello is taken"},
			wantText: "name hello is taken (409 Conflict)",
		},
		{
			name: "empty", status: 404,
			want:     APIError{StatusCode: 404, Message: "Not Found"},
			wantText: "404 Not Found",
		},
		{
			name: "plain-text", status: 502, contentType: "text/plain; charset=utf-8",
			body:     "\n  upstream died  \nmore\n",
			want:     APIError{StatusCode: 502, Message: "upstream died"},
			wantText: "upstream died (502 Bad Gateway)",
		},
		{
			name: "html-ignored", status: 500, contentType: "text/html",
			body:     "<html><body>oops</body></html>",
			want:     APIError{StatusCode: 500, Message: "Internal Server Error"},
			wantText: "500 Internal Server Error",
		},
		{
			name: "json-without-message", status: 401, contentType: "application/json",
			body:     `{"error":"  "}`,
			want:     APIError{StatusCode: 401, Message: "Unauthorized"},
			wantText: "401 Unauthorized",
		},
		{
			name: "unknown-status", status: 599,
			want:     APIError{StatusCode: 599},
			wantText: "599",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := New(srv.URL, "").Me(context.Background())
			got, ok := errors.AsType[*APIError](err)
			if !ok {
				t.Fatalf("Me() error = %v, want an *APIError", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if got.Error() != tt.wantText {
				t.Errorf("Error() = %q, want %q", got.Error(), tt.wantText)
			}
			if StatusCode(err) != tt.status {
				t.Errorf("StatusCode() = %d, want %d", StatusCode(err), tt.status)
			}
		})
	}
}

func TestErrorHelpers(t *testing.T) {
	tests := []struct {
		err                        error
		notFound, unauth, conflict bool
	}{
		{err: &APIError{StatusCode: 404}, notFound: true},
		{err: &APIError{StatusCode: 401}, unauth: true},
		{err: &APIError{StatusCode: 409}, conflict: true},
		{err: &APIError{StatusCode: 500}},
		{err: errors.New("dial failed")},
		{err: nil},
	}
	for _, tt := range tests {
		wrapped := tt.err
		if wrapped != nil {
			wrapped = errors.Join(errors.New("context"), tt.err)
		}
		got := []bool{IsNotFound(wrapped), IsUnauthorized(wrapped), IsConflict(wrapped)}
		want := []bool{tt.notFound, tt.unauth, tt.conflict}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("helpers(%v) (-want +got):\n%s", tt.err, diff)
		}
	}
}

func TestNoTokenSendsNoAuthorization(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Values("Authorization")...)
		got = append(got, r.Header.Get("User-Agent"))
		io.WriteString(w, userJSON)
	}))
	defer srv.Close()
	if _, err := New(srv.URL, "").Me(context.Background()); err != nil {
		t.Fatalf("Me() error = %v", err)
	}
	if diff := cmp.Diff([]string{DefaultUserAgent}, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

func TestDeploy(t *testing.T) {
	var seen []request
	var length int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		length = r.ContentLength
		seen = append(seen, request{Method: r.Method, URI: r.RequestURI,
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
			Body: string(body)})
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, depJSON)
	}))
	defer srv.Close()
	archive := "not really a tar.gz"
	// A reader type net/http cannot size by itself, as a progress wrapper is.
	r := io.MultiReader(strings.NewReader(archive))
	got, err := New(srv.URL, "tok").Deploy(context.Background(), "hello", r, int64(len(archive)), ContentTypeTarGz)
	if err != nil {
		t.Fatalf("Deploy() error = %v", err)
	}
	want := []request{{Method: "POST", URI: "/api/functions/hello/deployments",
		Auth: "Bearer tok", ContentType: "application/gzip", Body: archive}}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if length != int64(len(archive)) {
		t.Errorf("Content-Length = %d, want %d", length, len(archive))
	}
	if diff := cmp.Diff(dep, got); diff != "" {
		t.Errorf("Deploy() (-want +got):\n%s", diff)
	}
}

func TestDeployTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, `{"error":"archive over 50 MiB"}`)
	}))
	defer srv.Close()
	_, err := New(srv.URL, "tok").Deploy(context.Background(), "hello",
		strings.NewReader("x"), 1, ContentTypeTarGz)
	if StatusCode(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("Deploy() error = %v, want a 413 APIError", err)
	}
	if want := "upload archive: archive over 50 MiB (413 Request Entity Too Large)"; err.Error() != want {
		t.Errorf("Deploy() error = %q, want %q", err, want)
	}
}

// signalWriter reports on a channel each time it is written to.
type signalWriter struct {
	strings.Builder
	wrote chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	n, err := w.Builder.Write(p)
	w.wrote <- struct{}{}
	return n, err
}

func TestBuildLogStreams(t *testing.T) {
	// The server sends the second part only after the client has written
	// the first one out, which it can only do if it streams.
	firstSeen := make(chan struct{})
	var uri string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uri = r.RequestURI
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "step 1\n")
		w.(http.Flusher).Flush()
		select {
		case <-firstSeen:
		case <-time.After(10 * time.Second):
			t.Error("client did not pass on the first part while the body was open")
		}
		io.WriteString(w, "step 2\n")
	}))
	defer srv.Close()
	w := &signalWriter{wrote: make(chan struct{}, 10)}
	done := make(chan error)
	go func() {
		done <- New(srv.URL, "tok").BuildLog(context.Background(), "hello", 3, true, w)
	}()
	<-w.wrote
	close(firstSeen)
	if err := <-done; err != nil {
		t.Fatalf("BuildLog() error = %v", err)
	}
	if got, want := w.String(), "step 1\nstep 2\n"; got != want {
		t.Errorf("BuildLog() wrote %q, want %q", got, want)
	}
	if want := "/api/functions/hello/deployments/3/log?follow=1"; uri != want {
		t.Errorf("BuildLog() asked %q, want %q", uri, want)
	}
}

func TestBuildLogError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			t.Errorf("query = %q, want none without follow", r.URL.RawQuery)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"no deployment 9"}`)
	}))
	defer srv.Close()
	var out strings.Builder
	err := New(srv.URL, "tok").BuildLog(context.Background(), "hello", 9, false, &out)
	if !IsNotFound(err) {
		t.Errorf("BuildLog() error = %v, want not found", err)
	}
	if out.Len() != 0 {
		t.Errorf("BuildLog() wrote %q of an error body", out.String())
	}
}

func TestBuildLogCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "building\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w := &signalWriter{wrote: make(chan struct{}, 10)}
	done := make(chan error)
	go func() { done <- New(srv.URL, "tok").BuildLog(ctx, "hello", 1, true, w) }()
	<-w.wrote
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("BuildLog() error = %v, want context.Canceled", err)
	}
}

func TestInvokeReturnsFunctionAnswer(t *testing.T) {
	var seen []request
	var custom string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		custom = r.Header.Get("X-Custom")
		seen = append(seen, request{Method: r.Method, URI: r.RequestURI,
			Auth: r.Header.Get("Authorization"), UserAgent: r.Header.Get("User-Agent"),
			ContentType: r.Header.Get("Content-Type"), Body: string(body)})
		w.Header().Set("X-Answer", "42")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	}))
	defer srv.Close()
	h := http.Header{"Content-Type": {"application/json"}, "X-Custom": {"yes"}, "User-Agent": {"mine"}}
	resp, err := New(srv.URL, "tok").Invoke(context.Background(), "hello", strings.NewReader(`{"a":1}`), h)
	if err != nil {
		t.Fatalf("Invoke() error = %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Answer") != "42" || string(body) != "short and stout" {
		t.Errorf("Invoke() = %d %v %q, want the function's own answer", resp.StatusCode, resp.Header, body)
	}
	want := []request{{Method: "POST", URI: "/api/functions/hello/invoke", Auth: "Bearer tok",
		UserAgent: "mine", ContentType: "application/json", Body: `{"a":1}`}}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if custom != "yes" {
		t.Errorf("X-Custom = %q, want yes", custom)
	}
}

func TestCall(t *testing.T) {
	tests := []struct {
		name, method, fn, path string
		wantURI                string
		wantErr                bool
	}{
		{name: "root", method: "GET", fn: "hello", path: "", wantURI: "/f/hello/"},
		{name: "slash", method: "GET", fn: "hello", path: "/", wantURI: "/f/hello/"},
		{name: "query", method: "PUT", fn: "hello", path: "/items/42?full=1&x=a%20b", wantURI: "/f/hello/items/42?full=1&x=a%20b"},
		{name: "escaped", method: "GET", fn: "hello", path: "a%2Fb/c", wantURI: "/f/hello/a%2Fb/c"},
		{name: "colon", method: "GET", fn: "hello", path: "a:b", wantURI: "/f/hello/a:b"},
		{name: "name-escaped", method: "GET", fn: "x/y", path: "", wantURI: "/f/x%2Fy/"},
		{name: "dotdot", method: "GET", fn: "hello", path: "a/../../api/functions", wantErr: true},
		{name: "dotdot-escaped", method: "GET", fn: "hello", path: "%2e%2e/x", wantErr: true},
		{name: "bad-escape", method: "GET", fn: "hello", path: "a%zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []request
			c := newTestServer(t, answer{200, `{}`}, &seen)
			resp, err := c.Call(context.Background(), tt.method, tt.fn, tt.path, nil, nil)
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("Call(%q) succeeded, want an error", tt.path)
				}
				if len(seen) != 0 {
					t.Errorf("Call(%q) sent %v despite the error", tt.path, seen)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call(%q) error = %v", tt.path, err)
			}
			resp.Body.Close()
			if len(seen) != 1 || seen[0].URI != tt.wantURI || seen[0].Method != tt.method {
				t.Errorf("Call(%q) sent %+v, want %s %s", tt.path, seen, tt.method, tt.wantURI)
			}
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := New(srv.URL, "tok").Me(context.Background())
	if err == nil {
		t.Fatal("Me() on a closed server succeeded")
	}
	if StatusCode(err) != 0 {
		t.Errorf("StatusCode(%v) = %d, want 0 for a transport error", err, StatusCode(err))
	}
}

func TestBadJSONAnswer(t *testing.T) {
	var seen []request
	c := newTestServer(t, answer{200, `{"id": 5`}, &seen)
	if _, err := c.Me(context.Background()); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("Me() error = %v, want a decode error", err)
	}
}

func TestFunctionURL(t *testing.T) {
	c := New("http://h:8080///", "")
	if got, want := c.FunctionURL("hello"), "http://h:8080/f/hello/"; got != want {
		t.Errorf("FunctionURL() = %q, want %q", got, want)
	}
	if got, want := c.BaseURL(), "http://h:8080"; got != want {
		t.Errorf("BaseURL() = %q, want %q", got, want)
	}
}

func FuzzErrorMessage(f *testing.F) {
	f.Add(500, "application/json", []byte(`{"error":"boom"}`))
	f.Add(404, "text/plain", []byte("\n\nnot here\n"))
	f.Add(502, "text/plain", []byte("\xff\xfe"))
	f.Add(418, "", []byte(`{"error":null}`))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 300 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}},
			Body: io.NopCloser(strings.NewReader(string(body)))}
		err := checkResponse(resp)
		e, ok := errors.AsType[*APIError](err)
		if !ok {
			t.Fatalf("checkResponse(%d) = %v, want an *APIError", status, err)
		}
		if e.StatusCode != status {
			t.Errorf("StatusCode = %d, want %d", e.StatusCode, status)
		}
		var parsed Error
		isJSON := json.Unmarshal(body, &parsed) == nil && strings.TrimSpace(parsed.Message) != ""
		if !isJSON && len(e.Message) > maxPlainMessage+len("...") {
			t.Errorf("Message is %d bytes, want at most %d", len(e.Message), maxPlainMessage+3)
		}
		if e.Error() == "" {
			t.Error("Error() is empty")
		}
	})
}

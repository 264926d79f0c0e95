package cli

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerpub/containerpub/client"
)

// testBackend is an HTTP server answering the routes of docs/API.md for
// one user, keeping its state in memory. It unpacks and hashes uploads
// the way the real backend does, so the CLI's change detection is
// tested against an independent reading of its archives. An upload
// holding a file named FAIL fails its build.
type testBackend struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex // guards the fields below
	// token is the valid session token; empty after logout.
	token    string
	fns      map[string]*client.Function
	deps     map[string][]client.Deployment // newest last
	logs     []client.LogEntry
	deleted  []string
	invoked  []invocation
	logQuery string
}

// invocation is what the backend saw of an invoke.
type invocation struct {
	ContentType, Custom, Body string
}

var testTime = time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC)

func newTestBackend(t *testing.T) *testBackend {
	b := &testBackend{t: t, token: "tok-1",
		fns: map[string]*client.Function{}, deps: map[string][]client.Deployment{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/login", b.login)
	mux.HandleFunc("POST /api/auth/register", b.login)
	mux.HandleFunc("POST /api/auth/logout", b.auth(b.logout))
	mux.HandleFunc("GET /api/auth/me", b.auth(b.me))
	mux.HandleFunc("GET /api/functions", b.auth(b.listFunctions))
	mux.HandleFunc("POST /api/functions", b.auth(b.createFunction))
	mux.HandleFunc("GET /api/functions/{fn}", b.auth(b.getFunction))
	mux.HandleFunc("DELETE /api/functions/{fn}", b.auth(b.deleteFunction))
	mux.HandleFunc("POST /api/functions/{fn}/deployments", b.auth(b.deploy))
	mux.HandleFunc("GET /api/functions/{fn}/deployments", b.auth(b.listDeployments))
	mux.HandleFunc("GET /api/functions/{fn}/deployments/{v}", b.auth(b.getDeployment))
	mux.HandleFunc("GET /api/functions/{fn}/deployments/{v}/log", b.auth(b.buildLog))
	mux.HandleFunc("POST /api/functions/{fn}/invoke", b.auth(b.invoke))
	mux.HandleFunc("GET /api/functions/{fn}/logs", b.auth(b.fnLogs))
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, client.Error{Message: msg})
}

// auth refuses a request without the current token.
func (b *testBackend) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		ok := b.token != "" && r.Header.Get("Authorization") == "Bearer "+b.token
		b.mu.Unlock()
		if !ok {
			writeErr(w, http.StatusUnauthorized, "missing or expired token")
			return
		}
		h(w, r)
	}
}

func (b *testBackend) login(w http.ResponseWriter, r *http.Request) {
	var c client.Credentials
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		writeErr(w, http.StatusBadRequest, "bad json")
		return
	}
	if c.Email != "ada@example.com" || c.Password != "secret-pass" {
		writeErr(w, http.StatusUnauthorized, "wrong email or password")
		return
	}
	b.mu.Lock()
	b.token = "tok-1"
	b.mu.Unlock()
	status := http.StatusOK
	if strings.HasSuffix(r.URL.Path, "/register") {
		status = http.StatusCreated
	}
	writeJSON(w, status, client.Session{Token: "tok-1", ExpiresAt: testTime,
		User: client.User{ID: "u1", Email: c.Email, CreatedAt: testTime}})
}

func (b *testBackend) logout(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.token = ""
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (b *testBackend) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, client.User{ID: "u1", Email: "ada@example.com", CreatedAt: testTime})
}

func (b *testBackend) listFunctions(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fns := []client.Function{}
	for _, f := range b.fns {
		fns = append(fns, *f)
	}
	writeJSON(w, http.StatusOK, fns)
}

func (b *testBackend) createFunction(w http.ResponseWriter, r *http.Request) {
	var req client.CreateFunctionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || client.ValidateName(req.Name) != nil {
		writeErr(w, http.StatusBadRequest, "bad name")
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fns[req.Name] != nil {
		writeErr(w, http.StatusConflict, "name taken")
		return
	}
	f := &client.Function{ID: "f-" + req.Name, Name: req.Name, OwnerID: "u1",
		Status: client.FunctionNew, URLPath: "/f/" + req.Name + "/", CreatedAt: testTime, UpdatedAt: testTime}
	b.fns[req.Name] = f
	writeJSON(w, http.StatusCreated, f)
}

// function finds {fn} or answers 404.
func (b *testBackend) function(w http.ResponseWriter, r *http.Request) *client.Function {
	f := b.fns[r.PathValue("fn")]
	if f == nil {
		writeErr(w, http.StatusNotFound, "function "+r.PathValue("fn")+" not found")
	}
	return f
}

func (b *testBackend) getFunction(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f := b.function(w, r); f != nil {
		writeJSON(w, http.StatusOK, f)
	}
}

func (b *testBackend) deleteFunction(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f := b.function(w, r); f != nil {
		delete(b.fns, f.Name)
		b.deleted = append(b.deleted, f.Name)
		w.WriteHeader(http.StatusNoContent)
	}
}

// deploy unpacks and hashes the upload, then builds it at once.
func (b *testBackend) deploy(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != client.ContentTypeTarGz {
		writeErr(w, http.StatusBadRequest, "content type "+ct)
		return
	}
	hash, files, err := unpackHash(r.Body)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "bad archive: "+err.Error())
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.function(w, r)
	if f == nil {
		return
	}
	d := client.Deployment{ID: fmt.Sprintf("d%d", len(b.deps[f.Name])+1), FunctionID: f.ID,
		Version: len(b.deps[f.Name]) + 1, Status: client.DeploymentActive, SourceHash: hash, CreatedAt: testTime}
	if files["FAIL"] {
		d.Status, d.Error = client.DeploymentFailed, "compile: undefined: Handle"
	} else {
		for i := range b.deps[f.Name] {
			if b.deps[f.Name][i].Status == client.DeploymentActive {
				b.deps[f.Name][i].Status = client.DeploymentInactive
			}
		}
		f.Status, f.ActiveVersion, f.ActiveDeploymentID, f.SourceHash = client.FunctionActive, d.Version, d.ID, hash
	}
	b.deps[f.Name] = append(b.deps[f.Name], d)
	queued := d
	queued.Status, queued.Error = client.DeploymentQueued, ""
	writeJSON(w, http.StatusAccepted, queued)
}

// unpackHash hashes a tar.gz the way the backend does and lists its
// regular files.
func unpackHash(r io.Reader) (string, map[string]bool, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return "", nil, err
	}
	tr := tar.NewReader(gz)
	h := client.NewTreeHash()
	files := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return h.Sum(), files, nil
		}
		if err != nil {
			return "", nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			files[hdr.Name] = true
			if err := h.AddFile(hdr.Name, hdr.FileInfo().Mode(), tr); err != nil {
				return "", nil, err
			}
		case tar.TypeSymlink:
			h.AddSymlink(hdr.Name, hdr.Linkname)
		}
	}
}

func (b *testBackend) listDeployments(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.function(w, r)
	if f == nil {
		return
	}
	ds := []client.Deployment{}
	for i := len(b.deps[f.Name]) - 1; i >= 0; i-- {
		ds = append(ds, b.deps[f.Name][i])
	}
	writeJSON(w, http.StatusOK, ds)
}

// deployment finds {fn}/{v} or answers 404.
func (b *testBackend) deployment(w http.ResponseWriter, r *http.Request) (client.Deployment, bool) {
	f := b.function(w, r)
	if f == nil {
		return client.Deployment{}, false
	}
	v, err := strconv.Atoi(r.PathValue("v"))
	if err != nil || v < 1 || v > len(b.deps[f.Name]) {
		writeErr(w, http.StatusNotFound, "no such version")
		return client.Deployment{}, false
	}
	return b.deps[f.Name][v-1], true
}

func (b *testBackend) getDeployment(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d, ok := b.deployment(w, r); ok {
		writeJSON(w, http.StatusOK, d)
	}
}

func (b *testBackend) buildLog(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	d, ok := b.deployment(w, r)
	b.mu.Unlock()
	if !ok {
		return
	}
	if r.URL.Query().Get("follow") != "1" {
		b.t.Errorf("deploy read the build log without follow: %s", r.URL)
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "STEP 1/2: building version %d\n", d.Version)
	w.(http.Flusher).Flush()
	if d.Error != "" {
		fmt.Fprintf(w, "./handler.go:3: %s\n", d.Error)
	}
	fmt.Fprintln(w, "STEP 2/2: done")
}

func (b *testBackend) invoke(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	f := b.function(w, r)
	b.invoked = append(b.invoked, invocation{r.Header.Get("Content-Type"), r.Header.Get("X-Custom"), string(body)})
	b.mu.Unlock()
	if f == nil {
		return
	}
	w.Header().Set("X-Request-Id", "req-1")
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Add("X-Multi", "b")
	w.Header().Add("X-Multi", "a")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "got %s", body)
}

func (b *testBackend) fnLogs(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.function(w, r) == nil {
		return
	}
	b.logQuery = r.URL.RawQuery
	writeJSON(w, http.StatusOK, nonNil(b.logs))
}

// locked runs f with the backend's state locked, for a test to read or
// change it between commands.
func (b *testBackend) locked(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
}

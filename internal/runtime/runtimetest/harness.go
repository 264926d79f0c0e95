package runtimetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// LabelRun is put on every container of one suite run, so that the run
// can list exactly its own containers.
const LabelRun = "containerpub.test.run"

// Bounds on waiting for containers. They are generous: they stop a hung
// test, they do not judge speed.
const (
	readyTimeout = 20 * time.Second
	exitTimeout  = 60 * time.Second
	callTimeout  = 30 * time.Second
	pollInterval = 5 * time.Millisecond
)

// Harness makes test containers of one image. It names them uniquely,
// labels them with its run id, and removes each when its test ends.
type Harness struct {
	Driver runtime.Driver
	Image  string
	// RunID is the value of LabelRun on the harness's containers.
	RunID string
	n     atomic.Int64
}

// NewHarness returns a Harness with a fresh run id.
func NewHarness(t testing.TB, d runtime.Driver, image string) *Harness {
	return &Harness{Driver: d, Image: image, RunID: randomID(t)}
}

// Spec returns a spec for a new container of the harness's image with a
// unique name, the run label and env.
func (h *Harness) Spec(env map[string]string) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:   fmt.Sprintf("rt-%s-%d", h.RunID, h.n.Add(1)),
		Image:  h.Image,
		Labels: map[string]string{LabelRun: h.RunID},
		Env:    env,
	}
}

// Create creates a container and removes it when the test ends.
func (h *Harness) Create(t testing.TB, spec runtime.ContainerSpec) runtime.Container {
	t.Helper()
	c, err := h.Driver.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create(%s) = %v", spec.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.Driver.Remove(ctx, c.ID); err != nil {
			t.Errorf("Remove(%s) = %v", c.Name, err)
		}
	})
	return c
}

// Launch creates and starts a container and waits until it answers HTTP.
func (h *Harness) Launch(t testing.TB, spec runtime.ContainerSpec) runtime.Container {
	t.Helper()
	c := h.Create(t, spec)
	if err := h.Driver.Start(t.Context(), c.ID); err != nil {
		t.Fatalf("Start(%s) = %v", c.Name, err)
	}
	WaitReady(t, c.Endpoint)
	return c
}

// dial connects to an endpoint.
func dial(ctx context.Context, ep runtime.Endpoint) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, ep.Network, ep.Address)
}

// WaitReady polls the endpoint until it accepts a connection.
func WaitReady(t testing.TB, ep runtime.Endpoint) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		conn, err := dial(t.Context(), ep)
		if err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s %s not ready after %v: %v", ep.Network, ep.Address, readyTimeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// Client returns an HTTP client whose every request goes to ep.
func Client(ep runtime.Endpoint) *http.Client {
	return &http.Client{
		Timeout: callTimeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dial(ctx, ep)
			},
		},
	}
}

// Call sends a request for path (with query) to the container's function
// and returns the body of a 200 answer.
func Call(t testing.TB, c runtime.Container, method, path string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://function"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := Client(c.Endpoint)
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, c.Name, err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s on %s: read body: %v", method, path, c.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s on %s = %d %s", method, path, c.Name, resp.StatusCode, body)
	}
	return string(body)
}

// Probe is the test function's report of its own confinement.
type Probe struct {
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	CapEff string `json:"cap_eff"`
	// CapBnd is the bounding set: what the process could ever gain.
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

// ReadProbe asks a running test function for its Probe.
func ReadProbe(t testing.TB, c runtime.Container) Probe {
	t.Helper()
	var p Probe
	body := Call(t, c, http.MethodGet, "/probe")
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("decode probe %q: %v", body, err)
	}
	return p
}

// WaitExited polls Inspect until the container has exited and returns
// its exit state.
func WaitExited(t testing.TB, d runtime.Driver, id string) runtime.ExitState {
	t.Helper()
	deadline := time.Now().Add(exitTimeout)
	for {
		c, exit, err := d.Inspect(t.Context(), id)
		if err != nil {
			t.Fatalf("Inspect(%s) = %v", id, err)
		}
		if c.State == runtime.StateExited {
			return exit
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still %s after %v", id, c.State, exitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitClosed waits for an Attach channel to close.
func waitClosed(t testing.TB, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(exitTimeout):
		t.Fatalf("attach channel not closed %v after %s", exitTimeout, what)
	}
}

// wantNotFound fails the test unless err wraps runtime.ErrNotFound.
func wantNotFound(t testing.TB, call string, err error) {
	t.Helper()
	if !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("%s = %v, want an error wrapping ErrNotFound", call, err)
	}
}

// randomID returns 8 random hex digits.
func randomID(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// hasLabels reports whether got holds every label of want.
func hasLabels(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

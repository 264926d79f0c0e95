package runtimetest

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// testStartServes: a started container answers HTTP on its endpoint and
// sees the spec's environment.
func testStartServes(t *testing.T, h *Harness) {
	c := h.Launch(t, h.Spec(map[string]string{"FN_USER_VAR": "v1"}))
	tests := []struct {
		path, want string
	}{
		{"/", "ok"},
		{"/env?name=FN_USER_VAR", "v1"},
	}
	for _, tt := range tests {
		if got := Call(t, c, "GET", tt.path); got != tt.want {
			t.Errorf("GET %s = %q, want %q", tt.path, got, tt.want)
		}
	}
	if got := Call(t, c, "GET", "/env?name="+runtime.SocketEnv); got == "" {
		t.Errorf("%s is empty in the container", runtime.SocketEnv)
	}
	if got, _, err := h.Driver.Inspect(t.Context(), c.ID); err != nil || got.State != runtime.StateRunning {
		t.Errorf("Inspect(%s) = %q, %v; want running", c.ID, got.State, err)
	}
}

func testStartMissing(t *testing.T, h *Harness) {
	wantNotFound(t, "Start of a missing container", h.Driver.Start(t.Context(), missingName(h)))
}

// termExitCode is the test function's exit code after SIGTERM.
const termExitCode = 43

// testStopGraceful: Stop sends SIGTERM first, which the test function
// answers by exiting with its own code, rather than dying of SIGKILL.
func testStopGraceful(t *testing.T, h *Harness) {
	c := h.Launch(t, h.Spec(nil))
	stopAndExpect(t, h, c, 30*time.Second, termExitCode)
}

// testStopKillsAfterGrace: a process ignoring SIGTERM is killed.
func testStopKillsAfterGrace(t *testing.T, h *Harness) {
	c := h.Launch(t, h.Spec(map[string]string{"FN_STARTUP": "ignoreterm"}))
	stopAndExpect(t, h, c, time.Second, 137)
}

// stopAndExpect stops c and checks that Stop returned with the container
// exited with code.
func stopAndExpect(t *testing.T, h *Harness, c runtime.Container, grace time.Duration, code int) {
	t.Helper()
	if err := h.Driver.Stop(t.Context(), c.ID, grace); err != nil {
		t.Fatalf("Stop(%s, %v) = %v", c.ID, grace, err)
	}
	got, exit, err := h.Driver.Inspect(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("Inspect(%s) = %v", c.ID, err)
	}
	if got.State != runtime.StateExited || exit.ExitCode != code {
		t.Errorf("after Stop(%v): state %q exit code %d, want %q %d",
			grace, got.State, exit.ExitCode, runtime.StateExited, code)
	}
}

// testStopStopped: stopping a stopped container is not an error.
func testStopStopped(t *testing.T, h *Harness) {
	c := h.Launch(t, h.Spec(nil))
	for i := range 2 {
		if err := h.Driver.Stop(t.Context(), c.ID, 0); err != nil {
			t.Fatalf("Stop(%s) #%d = %v", c.ID, i+1, err)
		}
	}
}

func testStopMissing(t *testing.T, h *Harness) {
	wantNotFound(t, "Stop of a missing container", h.Driver.Stop(t.Context(), missingName(h), time.Second))
}

// testRemoveRunning: Remove kills a running container, removes it and
// frees its endpoint.
func testRemoveRunning(t *testing.T, h *Harness) {
	c := h.Launch(t, h.Spec(nil))
	removeAndCheck(t, h, c)
}

// testRemoveCreated: a created, never started container is removed too.
func testRemoveCreated(t *testing.T, h *Harness) {
	c := h.Create(t, h.Spec(nil))
	removeAndCheck(t, h, c)
}

func removeAndCheck(t *testing.T, h *Harness, c runtime.Container) {
	t.Helper()
	if err := h.Driver.Remove(t.Context(), c.ID); err != nil {
		t.Fatalf("Remove(%s) = %v", c.ID, err)
	}
	_, _, err := h.Driver.Inspect(t.Context(), c.ID)
	wantNotFound(t, "Inspect after Remove", err)
	if c.Endpoint.Network == "unix" {
		if _, err := os.Stat(c.Endpoint.Address); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket %s after Remove: stat = %v, want it gone", c.Endpoint.Address, err)
		}
	}
}

// testRemoveMissing: removing a missing container is not an error.
func testRemoveMissing(t *testing.T, h *Harness) {
	if err := h.Driver.Remove(t.Context(), missingName(h)); err != nil {
		t.Errorf("Remove of a missing container = %v, want nil", err)
	}
}

// testInspectStates: Inspect follows a container from created through
// running to exited, with the exit code and finish time.
func testInspectStates(t *testing.T, h *Harness) {
	c := h.Create(t, h.Spec(nil))
	wantState(t, h, c.ID, runtime.StateCreated)
	before := time.Now()
	if err := h.Driver.Start(t.Context(), c.ID); err != nil {
		t.Fatalf("Start(%s) = %v", c.ID, err)
	}
	WaitReady(t, c.Endpoint)
	wantState(t, h, c.ID, runtime.StateRunning)

	Call(t, c, "GET", "/exit?code=7")
	exit := WaitExited(t, h.Driver, c.ID)
	if exit.ExitCode != 7 || exit.OOMKilled || exit.State != runtime.StateExited {
		t.Errorf("exit = %+v, want code 7, not out of memory, state exited", exit)
	}
	// The runtime's clock is the host's; a second of slack covers
	// rounding in its timestamps.
	if exit.FinishedAt.Before(before.Add(-time.Second)) {
		t.Errorf("FinishedAt = %v, want after the start at %v", exit.FinishedAt, before)
	}
}

func wantState(t *testing.T, h *Harness, id, want string) {
	t.Helper()
	got, exit, err := h.Driver.Inspect(t.Context(), id)
	if err != nil {
		t.Fatalf("Inspect(%s) = %v", id, err)
	}
	if got.State != want || exit.State != want {
		t.Errorf("Inspect(%s) state = %q (exit state %q), want %q", id, got.State, exit.State, want)
	}
}

func testInspectMissing(t *testing.T, h *Harness) {
	_, _, err := h.Driver.Inspect(t.Context(), missingName(h))
	wantNotFound(t, "Inspect of a missing container", err)
}

package runtimetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/testutil"
)

// testAttachBeforeStart: attaching before Start captures all output,
// split by stream, byte for byte (a 1 MiB line and binary included), and
// the channel closes when the container exits.
func testAttachBeforeStart(t *testing.T, h *Harness) {
	c := h.Create(t, h.Spec(map[string]string{"FN_STARTUP": "lines,bigline,binary,exit=3"}))
	stdout, stderr := &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	done, err := h.Driver.Attach(t.Context(), c.ID, stdout, stderr)
	if err != nil {
		t.Fatalf("Attach(%s) = %v", c.ID, err)
	}
	if err := h.Driver.Start(t.Context(), c.ID); err != nil {
		t.Fatalf("Start(%s) = %v", c.ID, err)
	}
	waitClosed(t, done, "the container exited")

	wantOut := "stdout line 1\nstdout line 2\nstdout line 3\n" +
		strings.Repeat("x", 1<<20) + "\n" + string(binaryOutput()) + "\n"
	compareOutput(t, "stdout", stdout.String(), wantOut)
	compareOutput(t, "stderr", stderr.String(), "stderr line 1\nstderr line 2\n")

	exit := WaitExited(t, h.Driver, c.ID)
	if exit.ExitCode != 3 || exit.FinishedAt.IsZero() {
		t.Errorf("Inspect(%s) exit = %+v, want code 3 and a finish time", c.ID, exit)
	}
}

// binaryOutput is what the test function's binary step writes.
func binaryOutput() []byte {
	b := make([]byte, 0, 1024)
	for range 4 {
		for v := range 256 {
			b = append(b, byte(v))
		}
	}
	return b
}

// compareOutput reports where got and want first differ, without
// printing a megabyte.
func compareOutput(t *testing.T, stream, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at byte %d: got %q, want %q",
		stream, len(got), len(want), i, excerpt(got, i), excerpt(want, i))
}

func excerpt(s string, at int) string {
	end := min(at+40, len(s))
	return s[at:end]
}

// testAttachRunning: an attachment streams a running container's output
// and ends with its context, leaving the container running.
func testAttachRunning(t *testing.T, h *Harness) {
	c := h.Launch(t, h.Spec(nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr := &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	done, err := h.Driver.Attach(ctx, c.ID, stdout, stderr)
	if err != nil {
		t.Fatalf("Attach(%s) = %v", c.ID, err)
	}
	Call(t, c, "POST", "/print?stream=stdout&text=hello-out")
	Call(t, c, "POST", "/print?stream=stderr&text=hello-err")
	waitFor(t, "attached output", func() bool {
		return strings.Contains(stdout.String(), "hello-out\n") &&
			strings.Contains(stderr.String(), "hello-err\n")
	})
	if strings.Contains(stdout.String(), "hello-err") || strings.Contains(stderr.String(), "hello-out") {
		t.Errorf("streams mixed: stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	cancel()
	waitClosed(t, done, "its context ended")
	got, _, err := h.Driver.Inspect(t.Context(), c.ID)
	if err != nil || got.State != runtime.StateRunning {
		t.Errorf("Inspect(%s) after the attachment ended = %q, %v; want running", c.ID, got.State, err)
	}
}

// testAttachMissing: attaching to a missing container is ErrNotFound.
func testAttachMissing(t *testing.T, h *Harness) {
	_, err := h.Driver.Attach(t.Context(), missingName(h), &bytes.Buffer{}, &bytes.Buffer{})
	wantNotFound(t, "Attach to a missing container", err)
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// missingName is a container name nothing has.
func missingName(h *Harness) string {
	return fmt.Sprintf("rt-%s-missing", h.RunID)
}

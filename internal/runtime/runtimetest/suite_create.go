package runtimetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/containerpub/containerpub/internal/runtime"
)

// testCreate: Create returns a prepared container labelled with the
// spec's labels plus LabelManaged, and Inspect agrees with it.
func testCreate(t *testing.T, h *Harness) {
	spec := h.Spec(nil)
	spec.Labels["containerpub.test.role"] = "create"
	c := h.Create(t, spec)

	if c.ID == "" || c.Name != spec.Name || c.State != runtime.StateCreated {
		t.Errorf("Create(%s) = id %q name %q state %q; want an id, the name, %q",
			spec.Name, c.ID, c.Name, c.State, runtime.StateCreated)
	}
	if c.Endpoint.Network != "unix" && c.Endpoint.Network != "tcp" || c.Endpoint.Address == "" {
		t.Errorf("Create(%s).Endpoint = %+v, want a unix or tcp address", spec.Name, c.Endpoint)
	}
	want := map[string]string{runtime.LabelManaged: "true"}
	for k, v := range spec.Labels {
		want[k] = v
	}
	if !hasLabels(c.Labels, want) {
		t.Errorf("Create(%s).Labels = %v, want at least %v", spec.Name, c.Labels, want)
	}

	got, _, err := h.Driver.Inspect(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("Inspect(%s) = %v", c.ID, err)
	}
	if !hasLabels(got.Labels, want) {
		t.Errorf("Inspect(%s).Labels = %v, want at least %v", c.ID, got.Labels, want)
	}
	if diff := cmp.Diff(c, got, cmpopts.IgnoreFields(runtime.Container{}, "Labels")); diff != "" {
		t.Errorf("Inspect after Create differs (-create +inspect):\n%s", diff)
	}
}

// testCreateDuplicateName: names are unique among the driver's
// containers.
func testCreateDuplicateName(t *testing.T, h *Harness) {
	spec := h.Spec(nil)
	first := h.Create(t, spec)
	second, err := h.Driver.Create(t.Context(), spec)
	if err == nil {
		_ = h.Driver.Remove(context.Background(), second.ID)
		t.Fatalf("Create(%s) twice succeeded", spec.Name)
	}
	if _, _, err := h.Driver.Inspect(t.Context(), first.ID); err != nil {
		t.Errorf("Inspect(%s) after a failed duplicate Create = %v", first.ID, err)
	}
}

// testCreateMissingImage: a missing image is ErrNotFound.
func testCreateMissingImage(t *testing.T, h *Harness) {
	spec := h.Spec(nil)
	spec.Image = imageRef("absent", randomID(t))
	c, err := h.Driver.Create(t.Context(), spec)
	if err == nil {
		_ = h.Driver.Remove(context.Background(), c.ID)
	}
	wantNotFound(t, "Create with a missing image", err)
	assertNoContainers(t, h, map[string]string{LabelRun: h.RunID})
}

// testCreateCanceled: Create honours context cancellation and leaves
// nothing behind.
func testCreateCanceled(t *testing.T, h *Harness) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	spec := h.Spec(nil)
	spec.Labels["containerpub.test.role"] = "canceled"
	c, err := h.Driver.Create(ctx, spec)
	if err == nil {
		_ = h.Driver.Remove(context.Background(), c.ID)
		t.Fatal("Create with a canceled context succeeded")
	}
	assertNoContainers(t, h, spec.Labels)
}

// assertNoContainers fails the test if List finds containers with labels.
func assertNoContainers(t *testing.T, h *Harness, labels map[string]string) {
	t.Helper()
	got, err := h.Driver.List(t.Context(), labels)
	if err != nil {
		t.Fatalf("List(%v) = %v", labels, err)
	}
	if len(got) != 0 {
		t.Errorf("List(%v) = %+v, want none", labels, got)
	}
}

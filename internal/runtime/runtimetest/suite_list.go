package runtimetest

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/containerpub/containerpub/internal/runtime"
)

// testListLabels: List returns the containers carrying all the given
// labels, with the Endpoint Create gave.
func testListLabels(t *testing.T, h *Harness) {
	made := map[string]runtime.Container{}
	for _, role := range []string{"a", "b"} {
		spec := h.Spec(nil)
		spec.Labels["containerpub.test.list"] = "yes"
		spec.Labels["containerpub.test.role"] = role
		made[role] = h.Create(t, spec)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"one-label", map[string]string{"containerpub.test.list": "yes", LabelRun: h.RunID}, []string{"a", "b"}},
		{"all-labels", map[string]string{LabelRun: h.RunID, "containerpub.test.role": "a"}, []string{"a"}},
		{"no-match", map[string]string{LabelRun: h.RunID, "containerpub.test.role": "c"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Driver.List(t.Context(), tt.labels)
			if err != nil {
				t.Fatalf("List(%v) = %v", tt.labels, err)
			}
			var want []runtime.Container
			for _, role := range tt.want {
				want = append(want, made[role])
			}
			sortByName(got)
			sortByName(want)
			opts := []cmp.Option{
				cmpopts.IgnoreFields(runtime.Container{}, "Labels"),
				cmpopts.EquateEmpty(),
			}
			if diff := cmp.Diff(want, got, opts...); diff != "" {
				t.Errorf("List(%v) mismatch (-want +got):\n%s", tt.labels, diff)
			}
			for _, c := range got {
				if !hasLabels(c.Labels, tt.labels) {
					t.Errorf("List(%v) returned %s labelled %v", tt.labels, c.Name, c.Labels)
				}
			}
		})
	}
}

func sortByName(cs []runtime.Container) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
}

// testNoLeaks: once every test's containers are removed, List finds none
// of the run's.
func testNoLeaks(t *testing.T, h *Harness) {
	assertNoContainers(t, h, map[string]string{LabelRun: h.RunID})
}

// Package runtimetest is the conformance suite of runtime.Driver: each
// test checks one sentence of the interface's contract against a real
// runtime, with a small test function (testdata/fnapp) as the workload.
// Every driver runs it from its own tests:
//
//	image := runtimetest.BuildImage(t, d)
//	runtimetest.Run(t, d, image)
package runtimetest

import (
	"testing"

	"github.com/containerpub/containerpub/internal/runtime"
)

// Run runs the conformance suite against d, with image built by
// BuildImage. Its subtests run one after another: most of them start
// containers, and a small machine runs few at a time.
func Run(t *testing.T, d runtime.Driver, image string) {
	h := NewHarness(t, d, image)
	tests := []struct {
		name string
		fn   func(*testing.T, *Harness)
	}{
		{"BuildArgs", testBuildArgs},
		{"BuildFailure", testBuildFailure},
		{"ImageExists", testImageExists},
		{"RemoveImage", testRemoveImage},
		{"Create", testCreate},
		{"CreateDuplicateName", testCreateDuplicateName},
		{"CreateMissingImage", testCreateMissingImage},
		{"CreateCanceled", testCreateCanceled},
		{"AttachBeforeStart", testAttachBeforeStart},
		{"AttachRunning", testAttachRunning},
		{"AttachMissing", testAttachMissing},
		{"StartServes", testStartServes},
		{"StartMissing", testStartMissing},
		{"StopGraceful", testStopGraceful},
		{"StopKillsAfterGrace", testStopKillsAfterGrace},
		{"StopStopped", testStopStopped},
		{"StopMissing", testStopMissing},
		{"RemoveRunning", testRemoveRunning},
		{"RemoveCreated", testRemoveCreated},
		{"RemoveMissing", testRemoveMissing},
		{"InspectStates", testInspectStates},
		{"InspectMissing", testInspectMissing},
		{"ListLabels", testListLabels},
		{"Stats", testStats},
		{"StatsMissing", testStatsMissing},
		{"Isolation", testIsolation},
		{"Network", testNetwork},
		{"OutOfMemory", testOutOfMemory},
		{"Concurrent", testConcurrent},
		{"NoLeaks", testNoLeaks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

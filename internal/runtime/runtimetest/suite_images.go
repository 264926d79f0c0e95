package runtimetest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/containerpub/containerpub/internal/runtime"
)

// testBuildArgs: Build passes BuildArgs to the build.
func testBuildArgs(t *testing.T, h *Harness) {
	c := h.Launch(t, h.Spec(nil))
	if got := Call(t, c, "GET", "/env?name=FN_BUILD_ARG"); got != BuildArgValue {
		t.Errorf("FN_BUILD_ARG in the container = %q, want %q from the build argument", got, BuildArgValue)
	}
}

// testBuildFailure: a failed build returns an error whose message ends
// with the build's own last error line.
func testBuildFailure(t *testing.T, h *Harness) {
	tag := imageRef("broken", randomID(t))
	var log bytes.Buffer
	_, err := h.Driver.Build(t.Context(), runtime.BuildSpec{
		Tag:           tag,
		Context:       buildContext(t, "FROM scratch\nCOPY missing-file-xyz /x\n", nil),
		Containerfile: "Containerfile",
	}, &log)
	if err == nil {
		t.Fatalf("Build(%s) of a context without the copied file succeeded", tag)
	}
	if last := lastLine(err.Error()); !strings.Contains(last, "missing-file-xyz") {
		t.Errorf("Build error's last line = %q, want the build's error naming missing-file-xyz", last)
	}
	if log.Len() == 0 {
		t.Error("failed Build wrote no output to its log")
	}
	exists, err := h.Driver.ImageExists(t.Context(), tag)
	if err != nil || exists {
		t.Errorf("ImageExists(%s) after a failed build = %v, %v; want false, nil", tag, exists, err)
	}
}

// testImageExists: ImageExists reports whether an image is present.
func testImageExists(t *testing.T, h *Harness) {
	tests := []struct {
		name string
		ref  string
		want bool
	}{
		{"present", h.Image, true},
		{"absent", imageRef("absent", randomID(t)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Driver.ImageExists(t.Context(), tt.ref)
			if err != nil || got != tt.want {
				t.Errorf("ImageExists(%s) = %v, %v; want %v, nil", tt.ref, got, err, tt.want)
			}
		})
	}
}

// testRemoveImage: RemoveImage removes an image; removing a missing image
// is not an error.
func testRemoveImage(t *testing.T, h *Harness) {
	tag := imageRef("removable", randomID(t))
	_, err := h.Driver.Build(t.Context(), runtime.BuildSpec{
		Tag:           tag,
		Context:       buildContext(t, "FROM scratch\nCOPY Containerfile /Containerfile\n", nil),
		Containerfile: "Containerfile",
	}, nil)
	if err != nil {
		t.Fatalf("Build(%s) = %v", tag, err)
	}
	if ok, err := h.Driver.ImageExists(t.Context(), tag); err != nil || !ok {
		t.Fatalf("ImageExists(%s) after Build = %v, %v; want true, nil", tag, ok, err)
	}
	for i := range 2 {
		if err := h.Driver.RemoveImage(t.Context(), tag); err != nil {
			t.Fatalf("RemoveImage(%s) #%d = %v", tag, i+1, err)
		}
	}
	if ok, err := h.Driver.ImageExists(t.Context(), tag); err != nil || ok {
		t.Errorf("ImageExists(%s) after RemoveImage = %v, %v; want false, nil", tag, ok, err)
	}
}

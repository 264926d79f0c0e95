package runtimetest

import (
	"archive/tar"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// fnappSource is the test function. It is embedded rather than read from
// disk so that the suite finds it whatever directory a test runs in.
//
//go:embed testdata/fnapp/main.go
var fnappSource []byte

// containerfile packs the test function into an image of nothing else.
// FN_ARG comes back as the environment variable FN_BUILD_ARG, which is how
// the suite sees that build arguments reach the build.
const containerfile = `FROM scratch
ARG FN_ARG=unset
ENV FN_BUILD_ARG=$FN_ARG
COPY fn /fn
ENTRYPOINT ["/fn"]
`

// Values the test image is built with.
const (
	// BuildArgValue is passed as the build argument FN_ARG.
	BuildArgValue = "from-build-arg"
	// ImageLabel is a label set on the test image through the build.
	ImageLabel = "containerpub.test.image"
)

// buildTimeout bounds the build of the test image.
const buildTimeout = 5 * time.Minute

// BuildImage compiles the test function on the host, builds it into an
// image with d's own Build, and returns the image's tag. The image is
// removed when the test ends.
func BuildImage(t testing.TB, d runtime.Driver) string {
	t.Helper()
	bin := compileFnapp(t)
	tag := "localhost/containerpub-runtimetest/fn:" + randomID(t)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	var log bytes.Buffer
	_, err := d.Build(ctx, runtime.BuildSpec{
		Tag:           tag,
		Context:       buildContext(t, containerfile, bin),
		Containerfile: "Containerfile",
		Labels:        map[string]string{ImageLabel: "fnapp"},
		BuildArgs:     map[string]string{"FN_ARG": BuildArgValue},
	}, &log)
	if err != nil {
		t.Fatalf("Build(%s) = %v; log:\n%s", tag, err, log.String())
	}
	if log.Len() == 0 {
		t.Errorf("Build(%s) wrote no build output to its log", tag)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.RemoveImage(ctx, tag); err != nil {
			t.Errorf("RemoveImage(%s) = %v", tag, err)
		}
	})
	return tag
}

// compileFnapp builds the test function as a static Linux binary for
// this machine's architecture and returns its bytes.
func compileFnapp(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"main.go": fnappSource,
		"go.mod":  []byte("module fnapp\n\ngo 1.22\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("compile test function: go tool not found: %v", err)
	}
	out := filepath.Join(dir, "fn")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH,
		"GOWORK=off", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compile test function: %v\n%s", err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// buildContext returns a tar stream holding the Containerfile and, when
// bin is not nil, the executable fn.
func buildContext(t testing.TB, containerfile string, bin []byte) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte) {
		hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add("Containerfile", 0o644, []byte(containerfile))
	if bin != nil {
		add("fn", 0o755, bin)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// imageRef returns a tag in the suite's image namespace.
func imageRef(name, tag string) string {
	return fmt.Sprintf("localhost/containerpub-runtimetest/%s:%s", name, tag)
}

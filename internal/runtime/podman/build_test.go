package podman

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// busyboxPath is the static busybox of Debian's busybox-static, a shell
// for builds on a machine without an image registry.
const busyboxPath = "/bin/busybox"

// tarContext packs files (name to content, all executable) into a build
// context.
func tarContext(t *testing.T, files map[string][]byte) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		hdr := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// TestBuildRun: the output of RUN steps reaches the log, a failing step
// fails the build with its error last, and a cache mount
// (RUN --mount=type=cache) keeps its content from one build to the next,
// which the Go template relies on for its build cache.
func TestBuildRun(t *testing.T) {
	d := newTestDriver(t)
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Skipf("BUSYBOX MISSING (%v): install busybox-static", err)
	}
	// A fixed cache id keeps test runs from piling up caches; the fresh
	// token shows that the reader saw this run's write.
	token := "token-" + rand.Text()
	const cacheID = "containerpub-runtimetest"

	write := "FROM scratch\nCOPY busybox /bin/busybox\n" +
		"RUN --mount=type=cache,id=" + cacheID + ",target=/cache [\"/bin/busybox\", \"sh\", \"-c\", " +
		"\"echo " + token + " > /cache/token && echo wrote-token\"]\n"
	log := buildOK(t, d, "writer", write, bb)
	if !strings.Contains(log, "wrote-token") {
		t.Errorf("build log lacks the RUN step's output:\n%s", log)
	}

	read := "FROM scratch\nCOPY busybox /bin/busybox\n" +
		"RUN --mount=type=cache,id=" + cacheID + ",target=/cache [\"/bin/busybox\", \"cat\", \"/cache/token\"]\n"
	if log := buildOK(t, d, "reader", read, bb); !strings.Contains(log, token) {
		t.Errorf("second build did not find the cache mount's token %s:\n%s", token, log)
	}

	fail := "FROM scratch\nCOPY busybox /bin/busybox\n" +
		"RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo main.go:3: undefined: x >&2; exit 3\"]\n"
	var buf bytes.Buffer
	_, err = d.Build(t.Context(), runtime.BuildSpec{
		Tag:     "localhost/containerpub-runtimetest/fail:" + rand.Text(),
		Context: tarContext(t, map[string][]byte{"Containerfile": []byte(fail), "busybox": bb}),
	}, &buf)
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(be.Message, "exit status 3") {
		t.Errorf("failing build = %v, want a BuildError ending with the step's exit status", err)
	}
	if !strings.Contains(buf.String(), "main.go:3: undefined: x") {
		t.Errorf("failing build's log lacks the step's stderr:\n%s", buf.String())
	}
}

// buildOK builds a busybox context, removes the image when the test ends,
// and returns the build log.
func buildOK(t *testing.T, d *Driver, name, containerfile string, bb []byte) string {
	t.Helper()
	tag := "localhost/containerpub-runtimetest/" + name + ":" + strings.ReplaceAll(t.Name(), "/", "-")
	var log bytes.Buffer
	_, err := d.Build(t.Context(), runtime.BuildSpec{
		Tag:        tag,
		Context:    tarContext(t, map[string][]byte{"Containerfile": []byte(containerfile), "busybox": bb}),
		KeepLayers: true,
	}, &log)
	if err != nil {
		t.Fatalf("Build(%s) = %v\n%s", tag, err, log.String())
	}
	t.Cleanup(func() {
		if err := d.RemoveImage(context.Background(), tag); err != nil {
			t.Errorf("RemoveImage(%s) = %v", tag, err)
		}
	})
	return log.String()
}

// TestBuildCache: a second identical build reuses the first one's layers,
// which is what keeps a redeploy of unchanged dependencies fast.
func TestBuildCache(t *testing.T) {
	d := newTestDriver(t)
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Skipf("BUSYBOX MISSING (%v): install busybox-static", err)
	}
	containerfile := "FROM scratch\nCOPY busybox /bin/busybox\n" +
		"RUN [\"/bin/busybox\", \"echo\", \"" + rand.Text() + "\"]\n"
	buildOK(t, d, "cache-first", containerfile, bb)
	if log := buildOK(t, d, "cache-second", containerfile, bb); !strings.Contains(log, "Using cache") {
		t.Errorf("second identical build used no cached layer:\n%s", log)
	}
}

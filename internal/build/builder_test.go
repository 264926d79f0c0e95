package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/storage"
)

// recordingDriver stands in for a runtime.Driver in tests of the
// Builder's own logic: it records builds and the contexts they were
// given. The real driver is exercised by TestBuildWithPodman.
type recordingDriver struct {
	runtime.Driver // nil: Builder calls only the methods below

	mu     sync.Mutex
	images map[string]bool
	builds []recordedBuild
	// gate, when not nil, holds every Build until it is closed.
	gate chan struct{}
	// output is written to the build log; fail, when set, fails builds.
	output string
	fail   error
}

type recordedBuild struct {
	spec  runtime.BuildSpec
	files map[string]string // name -> content, "" for directories
}

func newRecordingDriver() *recordingDriver {
	return &recordingDriver{images: make(map[string]bool)}
}

func (d *recordingDriver) Build(ctx context.Context, spec runtime.BuildSpec, log io.Writer) (string, error) {
	files, err := readTar(spec.Context)
	if err != nil {
		return "", err
	}
	if d.gate != nil {
		select {
		case <-d.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	io.WriteString(log, d.output)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.builds = append(d.builds, recordedBuild{spec: spec, files: files})
	if d.fail != nil {
		return "", d.fail
	}
	d.images[spec.Tag] = true
	return "id-" + spec.Tag, nil
}

func (d *recordingDriver) ImageExists(_ context.Context, ref string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.images[ref], nil
}

func (d *recordingDriver) buildCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.builds)
}

func readTar(r io.Reader) (map[string]string, error) {
	files := make(map[string]string)
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read context: %w", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[hdr.Name] = string(b)
		if hdr.Typeflag == tar.TypeSymlink {
			files[hdr.Name] = "-> " + hdr.Linkname
		}
	}
}

// fakeGoroot makes a small tree shaped like a Go installation.
func fakeGoroot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"VERSION":                      "go1.26.8\ntime x\n",
		"bin/go":                       "go binary",
		"src/net/http/server.go":       "package http",
		"src/net/http/x_test.go":       "package http",
		"src/net/http/testdata/f":      "data",
		"test/big.go":                  "package test",
		"api/go1.txt":                  "api",
		"doc/go_spec.html":             "spec",
		"pkg/tool/linux_amd64/compile": "compiler",
	})
	return dir
}

func testPolicy(t *testing.T) Policy {
	t.Helper()
	p := DefaultPolicy()
	p.TempDir = t.TempDir()
	p.Go.GOROOT = fakeGoroot(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("SKIPPING: no /bin/busybox; install busybox-static")
	}
	return p
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestEnsureBuilderImageSharesOneBuild(t *testing.T) {
	p := testPolicy(t)
	d := newRecordingDriver()
	d.gate = make(chan struct{})
	b := NewBuilder(d, nil, p, quietLogger())
	want, err := b.BuilderImageRef()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(want, "localhost/containerpub/go-builder:go1.26.8-") {
		t.Errorf("BuilderImageRef() = %q", want)
	}

	const callers = 5
	var wg sync.WaitGroup
	refs := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			var log bytes.Buffer
			refs[i], errs[i] = b.EnsureBuilderImage(context.Background(), &log)
		})
	}
	time.Sleep(100 * time.Millisecond) // let every caller join the build
	close(d.gate)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || refs[i] != want {
			t.Errorf("caller %d: EnsureBuilderImage() = %q, %v; want %q", i, refs[i], errs[i], want)
		}
	}
	if n := d.buildCount(); n != 1 {
		t.Fatalf("%d builder builds, want 1 shared by all callers", n)
	}

	got := d.builds[0]
	if got.spec.Tag != want || got.spec.Containerfile != "Containerfile" || got.spec.Labels[LabelBuilder] != "go" {
		t.Errorf("builder build spec = %+v", got.spec)
	}
	var names []string
	for name := range got.files {
		names = append(names, name)
	}
	sort.Strings(names)
	wantNames := []string{
		"Containerfile", "busybox", "ca-certificates.crt",
		"go/", "go/VERSION", "go/bin/", "go/bin/go",
		"go/pkg/", "go/pkg/tool/", "go/pkg/tool/linux_amd64/", "go/pkg/tool/linux_amd64/compile",
		"go/src/", "go/src/net/", "go/src/net/http/", "go/src/net/http/server.go",
		"warmup/go.mod", "warmup/main.go",
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("builder context mismatch (-want +got):\n%s", diff)
	}
	if got.files["Containerfile"] != builderContainerfile {
		t.Errorf("builder Containerfile differs from the template")
	}

	// Once built, the image is found and not built again.
	if ref, err := b.EnsureBuilderImage(context.Background(), io.Discard); err != nil || ref != want {
		t.Errorf("EnsureBuilderImage() again = %q, %v", ref, err)
	}
	if n := d.buildCount(); n != 1 {
		t.Errorf("%d builder builds after the image exists, want 1", n)
	}
}

func TestEnsureBuilderImageCallerGivesUp(t *testing.T) {
	p := testPolicy(t)
	d := newRecordingDriver()
	d.gate = make(chan struct{})
	b := NewBuilder(d, nil, p, quietLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.EnsureBuilderImage(ctx, io.Discard); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("EnsureBuilderImage(short deadline) = %v, want DeadlineExceeded", err)
	}
	// The build goes on for the next caller.
	close(d.gate)
	ref, err := b.EnsureBuilderImage(context.Background(), io.Discard)
	if err != nil {
		t.Fatalf("EnsureBuilderImage() = %v", err)
	}
	if n := d.buildCount(); n != 1 {
		t.Errorf("%d builder builds, want 1", n)
	}
	if ok, _ := d.ImageExists(context.Background(), ref); !ok {
		t.Errorf("builder image %s missing after the build", ref)
	}
}

func TestEnsureBuilderImageConfigured(t *testing.T) {
	p := testPolicy(t)
	p.Go.BuilderImage = "localhost/mine:1"
	d := newRecordingDriver()
	b := NewBuilder(d, nil, p, quietLogger())
	if _, err := b.EnsureBuilderImage(context.Background(), io.Discard); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("EnsureBuilderImage(missing configured image) = %v, want ErrNotFound", err)
	}
	d.images["localhost/mine:1"] = true
	if ref, err := b.EnsureBuilderImage(context.Background(), io.Discard); err != nil || ref != "localhost/mine:1" {
		t.Errorf("EnsureBuilderImage() = %q, %v; want the configured image", ref, err)
	}
	if n := d.buildCount(); n != 0 {
		t.Errorf("%d builds, want none with a configured builder image", n)
	}
}

func TestEnsureBuilderImageMissingInputs(t *testing.T) {
	tests := []struct {
		name  string
		setup func(p *Policy)
		want  string
	}{
		{"no_busybox", func(p *Policy) { p.Go.Busybox = "/nonexistent/busybox" }, "busybox-static not installed: no /nonexistent/busybox"},
		{"dynamic_busybox", func(p *Policy) { p.Go.Busybox = "/bin/ls" }, "busybox at /bin/ls is dynamically linked: install busybox-static"},
		{"no_ca_bundle", func(p *Policy) { p.Go.CABundle = "/nonexistent/ca.crt" }, "ca-certificates not installed"},
		{"no_go", func(p *Policy) { os.Remove(filepath.Join(p.Go.GOROOT, "bin", "go")) }, "no Go toolchain at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t)
			tt.setup(&p)
			d := newRecordingDriver()
			_, err := NewBuilder(d, nil, p, quietLogger()).EnsureBuilderImage(context.Background(), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("EnsureBuilderImage() = %v, want an error containing %q", err, tt.want)
			}
			if n := d.buildCount(); n != 0 {
				t.Errorf("%d builds started without the inputs", n)
			}
		})
	}
}

// builderWithArchive returns a Builder whose storage holds archive under
// the key "archives/f1/d1".
func builderWithArchive(t *testing.T, d *recordingDriver, archive []byte) (*Builder, Policy) {
	t.Helper()
	p := testPolicy(t)
	st, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), "archives/f1/d1", bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	return NewBuilder(d, st, p, quietLogger()), p
}

var testJob = Job{FunctionID: "F1", DeploymentID: "d1", OwnerID: "u1", Version: 3, ArchiveKey: "archives/f1/d1"}

func TestBuild(t *testing.T) {
	d := newRecordingDriver()
	b, p := builderWithArchive(t, d, packDir(t, filepath.Join(examplesDir(t), "hello")))
	var log bytes.Buffer
	ref, err := b.Build(context.Background(), testJob, &log)
	if err != nil {
		t.Fatalf("Build() = %v; log:\n%s", err, log.String())
	}
	if ref != "localhost/containerpub/fn-f1:v3" || ref != ImageRef("F1", 3) {
		t.Errorf("Build() = %q, want localhost/containerpub/fn-f1:v3", ref)
	}
	if n := d.buildCount(); n != 2 {
		t.Fatalf("%d builds, want the builder's and the function's", n)
	}
	fn := d.builds[1]
	wantSpec := runtime.BuildSpec{
		Tag:           ref,
		Containerfile: "Containerfile",
		Labels: map[string]string{
			runtime.LabelManaged: "true", runtime.LabelFunction: "F1", runtime.LabelDeployment: "d1",
		},
		BuildArgs:   map[string]string{"GOPROXY": p.Go.GOPROXY, "GOSUMDB": p.Go.GOSUMDB},
		MemoryBytes: p.Go.BuildMemoryBytes,
	}
	fn.spec.Context = nil
	if diff := cmp.Diff(wantSpec, fn.spec); diff != "" {
		t.Errorf("function build spec mismatch (-want +got):\n%s", diff)
	}
	for _, name := range []string{"src/containerpub.yaml", "src/go.mod", "src/handler.go", "src/containerpubmain/main.go"} {
		if _, ok := fn.files[name]; !ok {
			t.Errorf("build context lacks %s", name)
		}
	}
	if !strings.Contains(fn.files["Containerfile"], "id=containerpub-gocache-u1,") {
		t.Errorf("function Containerfile does not use the owner's cache:\n%s", fn.files["Containerfile"])
	}
	if !strings.Contains(fn.files["src/containerpubmain/main.go"], `function "example.com/hello"`) {
		t.Errorf("generated main does not import the function's module")
	}
	assertEmptyDir(t, p.TempDir)
}

func TestBuildCompileError(t *testing.T) {
	d := newRecordingDriver()
	b, p := builderWithArchive(t, d, packDir(t, filepath.Join(examplesDir(t), "hello")))
	if _, err := b.EnsureBuilderImage(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	d.output = "[1/2] STEP 6/6: RUN go build\n# example.com/hello\n./handler.go:12:2: undefined: nope\n" +
		"./handler.go:13:9: too many errors\nError: building at STEP \"RUN\": exit status 1\n"
	d.fail = errors.New(`building at STEP "RUN": exit status 1`)
	var log bytes.Buffer
	_, err := b.Build(context.Background(), testJob, &log)
	if !errors.Is(err, ErrBuildFailed) {
		t.Fatalf("Build() = %v, want ErrBuildFailed", err)
	}
	want := "build failed: ./handler.go:12:2: undefined: nope\n./handler.go:13:9: too many errors"
	if err.Error() != want {
		t.Errorf("Build() = %q, want %q", err, want)
	}
	if !strings.Contains(log.String(), "undefined: nope") {
		t.Errorf("build log lacks the compiler output:\n%s", log.String())
	}
	assertEmptyDir(t, p.TempDir)
}

func TestBuildPlatformError(t *testing.T) {
	d := newRecordingDriver()
	b, _ := builderWithArchive(t, d, packDir(t, filepath.Join(examplesDir(t), "hello")))
	if _, err := b.EnsureBuilderImage(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	d.fail = errors.New("podman: connection refused")
	_, err := b.Build(context.Background(), testJob, io.Discard)
	if err == nil || errors.Is(err, ErrBuildFailed) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Build() = %v, want the driver's error, not ErrBuildFailed", err)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name    string
		archive []byte
		job     func(j *Job)
		want    error
	}{
		{"bad_archive", []byte("not an archive"), nil, ErrInvalid},
		{"bad_source", tarGz(t, file("containerpub.yaml", "name: x\n"), file("go.mod", "module x\n")), nil, ErrInvalid},
		{"missing_archive", []byte("x"), func(j *Job) { j.ArchiveKey = "archives/none" }, storage.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newRecordingDriver()
			b, p := builderWithArchive(t, d, tt.archive)
			job := testJob
			if tt.job != nil {
				tt.job(&job)
			}
			_, err := b.Build(context.Background(), job, io.Discard)
			if !errors.Is(err, tt.want) {
				t.Errorf("Build() = %v, want %v", err, tt.want)
			}
			for _, bld := range d.builds {
				if bld.spec.Tag == ImageRef(job.FunctionID, job.Version) {
					t.Errorf("Build() started an image build for a rejected source")
				}
			}
			assertEmptyDir(t, p.TempDir)
		})
	}
}

func TestJobValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(j *Job)
	}{
		{"bad_function_id", func(j *Job) { j.FunctionID = "a/b:c" }},
		{"empty_function_id", func(j *Job) { j.FunctionID = "" }},
		{"version_zero", func(j *Job) { j.Version = 0 }},
		{"no_owner", func(j *Job) { j.OwnerID = "" }},
		{"no_archive", func(j *Job) { j.ArchiveKey = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := testJob
			tt.edit(&j)
			if err := j.validate(); err == nil {
				t.Errorf("validate(%+v) = nil, want an error", j)
			}
		})
	}
	if err := testJob.validate(); err != nil {
		t.Errorf("validate(%+v) = %v, want nil", testJob, err)
	}
}

func TestCompilerLines(t *testing.T) {
	var c compilerLines
	// Written in pieces that split lines, as a stream would.
	for _, piece := range []string{"STEP 1\n# example.com/x\n./a.", "go:3:1: syntax error\ngo: downloading x v1\n", "go: x@v1: 404\nplain line\nb.go:9: bad"} {
		c.Write([]byte(piece))
	}
	c.Write([]byte("\n"))
	want := []string{"./a.go:3:1: syntax error", "go: x@v1: 404", "b.go:9: bad"}
	if diff := cmp.Diff(want, c.lines); diff != "" {
		t.Errorf("compiler lines mismatch (-want +got):\n%s", diff)
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("work directory %s not cleaned up: %v", dir, entries)
	}
}

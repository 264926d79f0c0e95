package build

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/storage"
)

// ErrBuildFailed is returned by Build when the function's code did not
// build: the user's fault, not the platform's. The error's message
// quotes the compiler, and the build log holds its whole output.
var ErrBuildFailed = errors.New("build failed")

// builderBuildTimeout bounds the build of the builder image, which runs
// detached from any one caller.
const builderBuildTimeout = 30 * time.Minute

// Labels of the images Builder makes.
const (
	// LabelBuilder marks a builder image with its runtime ("go").
	LabelBuilder = "containerpub.builder"
)

// Job is one deployment to build.
type Job struct {
	FunctionID   string
	DeploymentID string
	// OwnerID selects the build caches the job may use.
	OwnerID string
	Version int
	// ArchiveKey names the uploaded archive in storage.
	ArchiveKey string
}

// Builder builds function images. It is safe for concurrent use.
type Builder struct {
	driver  runtime.Driver
	storage storage.Storage
	policy  Policy
	logger  *slog.Logger
	// builders makes concurrent callers share one builder image build.
	builders singleflight.Group
}

// NewBuilder returns a Builder that builds with d, reads archives from s
// and checks them against p.
func NewBuilder(d runtime.Driver, s storage.Storage, p Policy, logger *slog.Logger) *Builder {
	return &Builder{driver: d, storage: s, policy: p, logger: logger}
}

// ImageRef names the image of a function version.
func ImageRef(functionID string, version int) string {
	return "localhost/containerpub/fn-" + strings.ToLower(functionID) + ":v" + strconv.Itoa(version)
}

// imageIDPattern is what a function id must look like to name an image.
var imageIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}$`)

func (j Job) validate() error {
	switch {
	case !imageIDPattern.MatchString(strings.ToLower(j.FunctionID)):
		return fmt.Errorf("build job: function id %q cannot name an image", j.FunctionID)
	case j.Version < 1:
		return fmt.Errorf("build job: version %d is not positive", j.Version)
	case j.OwnerID == "", j.ArchiveKey == "", j.DeploymentID == "":
		return errors.New("build job: owner, deployment and archive key are required")
	}
	return nil
}

// BuilderImageRef returns the tag of the builder image this backend
// makes: the Go version and a hash of the builder recipe.
func (b *Builder) BuilderImageRef() (string, error) {
	v, err := goVersion(b.policy.Go.GOROOT)
	if err != nil {
		return "", err
	}
	return "localhost/containerpub/go-builder:" + v + "-" + builderTemplateHash(), nil
}

// EnsureBuilderImage returns the builder image, building it first when
// it is missing; that takes about half a minute and happens once per
// backend and Go version. Concurrent callers share one build, which goes
// on when a caller gives up so that the others still get it. A builder
// image named by the policy is used as it is.
func (b *Builder) EnsureBuilderImage(ctx context.Context, log io.Writer) (string, error) {
	if ref := b.policy.Go.BuilderImage; ref != "" {
		ok, err := b.driver.ImageExists(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("check builder image: %w", err)
		}
		if !ok {
			return "", fmt.Errorf("builder image %s: %w", ref, runtime.ErrNotFound)
		}
		return ref, nil
	}
	ref, err := b.BuilderImageRef()
	if err != nil {
		return "", err
	}
	ok, err := b.driver.ImageExists(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("check builder image: %w", err)
	}
	if ok {
		return ref, nil
	}
	logf(log, "--> building the Go builder image %s (once per Go version, about a minute)\n", ref)
	start := time.Now()
	detached := context.WithoutCancel(ctx)
	ch := b.builders.DoChan(ref, func() (any, error) {
		return nil, b.buildBuilder(detached, ref)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
	case <-ctx.Done():
		return "", fmt.Errorf("wait for builder image: %w", ctx.Err())
	}
	logf(log, "--> builder image ready after %s\n", time.Since(start).Round(time.Millisecond))
	return ref, nil
}

// buildBuilder builds the builder image, streaming the Go tree into the
// build instead of holding its few hundred megabytes in memory.
func (b *Builder) buildBuilder(ctx context.Context, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, builderBuildTimeout)
	defer cancel()
	g := b.policy.Go
	if err := checkBuilderInputs(g); err != nil {
		return err
	}
	b.logger.Info("building builder image", "image", ref, "goroot", g.GOROOT)
	start := time.Now()
	out := &tailBuffer{max: 64 << 10}
	_, err := b.buildStreamed(ctx, runtime.BuildSpec{
		Tag:           ref,
		Containerfile: "Containerfile",
		Labels:        map[string]string{runtime.LabelManaged: "true", LabelBuilder: client.RuntimeGo},
	}, out, func(cw *contextWriter) error {
		return writeBuilderContext(cw, g)
	})
	if err != nil {
		b.logger.Error("build builder image", "image", ref, "error", err, "output", out.String())
		return fmt.Errorf("build builder image: %w", err)
	}
	b.logger.Info("built builder image", "image", ref, "duration", time.Since(start))
	return nil
}

// checkBuilderInputs finds the files the builder image is made of, with
// an error that says what to install when one is missing.
func checkBuilderInputs(g GoPolicy) error {
	if _, err := os.Stat(filepath.Join(g.GOROOT, "bin", "go")); err != nil {
		return fmt.Errorf("no Go toolchain at %s: %w", g.GOROOT, err)
	}
	if _, err := os.Stat(g.CABundle); err != nil {
		return fmt.Errorf("ca-certificates not installed: %w", err)
	}
	f, err := elf.Open(g.Busybox)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("busybox-static not installed: no %s", g.Busybox)
	}
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	defer func() { _ = f.Close() }() // only read
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox at %s is dynamically linked: install busybox-static", g.Busybox)
		}
	}
	return nil
}

func writeBuilderContext(cw *contextWriter, g GoPolicy) error {
	files := []struct {
		name string
		data string
	}{
		{"Containerfile", builderContainerfile},
		{"warmup/main.go", warmupMain},
		{"warmup/go.mod", warmupGoMod},
	}
	for _, f := range files {
		if err := cw.addBytes(f.name, 0o644, []byte(f.data)); err != nil {
			return err
		}
	}
	if err := cw.addFile("busybox", g.Busybox); err != nil {
		return err
	}
	if err := cw.addFile("ca-certificates.crt", g.CABundle); err != nil {
		return err
	}
	return cw.addTree(g.GOROOT, "go", skipGorootPart)
}

// buildStreamed runs a build whose context write produces, through a
// pipe, so that the context is never whole in memory or on disk.
func (b *Builder) buildStreamed(ctx context.Context, spec runtime.BuildSpec, log io.Writer,
	write func(*contextWriter) error,
) (string, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		cw := newContextWriter(pw)
		err := write(cw)
		if err == nil {
			err = cw.close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	spec.Context = pr
	id, err := b.driver.Build(ctx, spec, log)
	// Unblock the writer if the driver stopped reading early. Closing a
	// pipe's reader always succeeds.
	_ = pr.CloseWithError(errors.New("build ended"))
	if werr := <-done; werr != nil && err == nil {
		err = werr
	}
	return id, err
}

// Build builds the image of one deployment and returns its reference,
// ImageRef(job.FunctionID, job.Version). It fetches the archive from
// storage and checks it again, since the stored copy is input like any
// other. Progress and the compiler's output go to log. A function that
// does not compile gives an error wrapping ErrBuildFailed; a stored
// archive that no longer passes the checks, one wrapping ErrInvalid or
// ErrTooLarge.
func (b *Builder) Build(ctx context.Context, job Job, log io.Writer) (string, error) {
	if err := job.validate(); err != nil {
		return "", err
	}
	if t := b.policy.Go.BuildTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	start := time.Now()
	builder, err := b.EnsureBuilderImage(ctx, log)
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(b.policy.TempDir, "containerpub-build-")
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(work); err != nil {
			b.logger.Warn("remove build directory", "dir", work, "error", err)
		}
	}()
	srcDir, err := b.prepareSource(ctx, job, work, log)
	if err != nil {
		return "", err
	}
	containerfile, err := renderGoContainerfile(builder, job.OwnerID)
	if err != nil {
		return "", err
	}
	ref := ImageRef(job.FunctionID, job.Version)
	logf(log, "--> building image %s\n", ref)
	compiler := &compilerLines{}
	_, err = b.buildStreamed(ctx, runtime.BuildSpec{
		Tag:           ref,
		Containerfile: "Containerfile",
		Labels: map[string]string{
			runtime.LabelManaged:    "true",
			runtime.LabelFunction:   job.FunctionID,
			runtime.LabelDeployment: job.DeploymentID,
		},
		BuildArgs:   map[string]string{"GOPROXY": b.policy.Go.GOPROXY, "GOSUMDB": b.policy.Go.GOSUMDB},
		MemoryBytes: b.policy.Go.BuildMemoryBytes,
	}, io.MultiWriter(log, compiler), func(cw *contextWriter) error {
		if err := cw.addBytes("Containerfile", 0o644, containerfile); err != nil {
			return err
		}
		return cw.addTree(srcDir, "src", nil)
	})
	if err != nil {
		return "", compiler.wrap(err)
	}
	logf(log, "--> built %s in %s\n", ref, time.Since(start).Round(time.Millisecond))
	b.logger.Info("built function image", "function", job.FunctionID, "deployment", job.DeploymentID,
		"image", ref, "duration", time.Since(start))
	return ref, nil
}

// prepareSource fetches, checks and unpacks the job's archive into
// work/src and adds the generated main package.
func (b *Builder) prepareSource(ctx context.Context, job Job, work string, log io.Writer) (string, error) {
	archive, size, err := b.fetchArchive(ctx, job.ArchiveKey, work)
	if err != nil {
		return "", err
	}
	defer func() { _ = archive.Close() }() // only read from here on
	srcDir := filepath.Join(work, "src")
	if err := os.Mkdir(srcDir, 0o700); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	src, err := Check(ctx, archive, size, b.policy, srcDir)
	if err != nil {
		return "", err
	}
	logf(log, "--> source %s, runtime %s\n", src.Hash, src.Config.Runtime)
	for _, w := range src.Warnings {
		logf(log, "warning: %s\n", w)
	}
	if err := GenerateGoMain(srcDir); err != nil {
		return "", err
	}
	return srcDir, nil
}

// fetchArchive copies an archive from storage to a file in work, since
// unpacking a zip needs random access.
func (b *Builder) fetchArchive(ctx context.Context, key, work string) (*os.File, int64, error) {
	rc, err := b.storage.Get(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch archive: %w", err)
	}
	defer func() { _ = rc.Close() }() // only read
	f, err := os.Create(filepath.Join(work, "archive"))
	if err != nil {
		return nil, 0, fmt.Errorf("fetch archive: %w", err)
	}
	// One byte over the limit is enough for Unpack to refuse it.
	n, err := io.Copy(f, io.LimitReader(rc, b.policy.MaxUploadBytes+1))
	if err != nil {
		_ = f.Close() // the copy's error is the one to report
		return nil, 0, fmt.Errorf("fetch archive: %w", err)
	}
	return f, n, nil
}

// logf writes a progress line to a build's log. A line the log fails to
// take is no reason to fail the build: the log is for people following
// it, and the build's outcome is reported apart from it.
func logf(log io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(log, format, args...)
}

// compilerLines keeps the first lines of a build's output that come
// from the Go compiler or the go command, to say in the error why a
// build failed.
type compilerLines struct {
	partial []byte
	lines   []string
}

const maxCompilerLines = 10

var compilerLinePattern = regexp.MustCompile(`^(\S+\.go:\d+(:\d+)?: .+|go: .+)$`)

// goProgressLine matches the go command's progress notes, which are no
// reason for a failure.
var goProgressLine = regexp.MustCompile(`^go: (downloading|finding|found|extracting|added|upgraded) `)

func (c *compilerLines) Write(p []byte) (int, error) {
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(c.partial[:i]))
		c.partial = c.partial[i+1:]
		if len(c.lines) < maxCompilerLines && compilerLinePattern.MatchString(line) &&
			!goProgressLine.MatchString(line) {
			c.lines = append(c.lines, line)
		}
	}
	if len(c.partial) > 64<<10 {
		c.partial = c.partial[:0] // a line this long is no compiler message
	}
	return len(p), nil
}

// wrap turns a failed build into ErrBuildFailed quoting the compiler
// when the compiler spoke, and leaves other failures as they are.
func (c *compilerLines) wrap(err error) error {
	if len(c.lines) == 0 || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("build image: %w", err)
	}
	return fmt.Errorf("%w: %s", ErrBuildFailed, strings.Join(c.lines, "\n"))
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

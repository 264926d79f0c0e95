// Package deploy owns the life of functions: creating them, taking
// uploads, running builds as jobs claimed from the database, switching the
// active version only after its first instance started, resolving names
// for the gateway, and deleting everything a function left behind.
package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/build"
	"github.com/containerpub/containerpub/internal/gateway"
	"github.com/containerpub/containerpub/internal/pool"
	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/storage"
	"github.com/containerpub/containerpub/internal/store"
)

// Builder builds a deployment's image.
type Builder interface {
	Build(ctx context.Context, job build.Job, log io.Writer) (imageRef string, err error)
}

// Options tune a Service.
type Options struct {
	// BackendID names this backend in build claims and container labels.
	BackendID string
	// Policy bounds uploads and manifests.
	Policy build.Policy
	// Workers is how many builds run at once. Default 1.
	Workers int
	// BuildTimeout bounds one build and its first start. Default 15m.
	BuildTimeout time.Duration
	// ResolveTTL is how long a name's resolution is cached; it bounds how
	// late this backend notices a version activated by another. Default 1s.
	ResolveTTL time.Duration
	// TempDir holds uploads while they are checked. Default os.TempDir().
	TempDir string
}

// Service runs deployments.
type Service struct {
	st      store.Store
	storage storage.Storage
	builder Builder
	driver  runtime.Driver
	pools   *pool.Manager
	log     *slog.Logger
	opts    Options
	now     func() time.Time

	kick chan struct{}

	// mu guards cache.
	mu    sync.Mutex
	cache map[string]resolved
}

type resolved struct {
	target  *gateway.Target
	err     error
	expires time.Time
}

// New returns a Service. Call Run to process builds.
func New(st store.Store, stg storage.Storage, b Builder, d runtime.Driver, pools *pool.Manager,
	logger *slog.Logger, opts Options,
) *Service {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.BuildTimeout <= 0 {
		opts.BuildTimeout = 15 * time.Minute
	}
	if opts.ResolveTTL <= 0 {
		opts.ResolveTTL = time.Second
	}
	return &Service{
		st: st, storage: stg, builder: b, driver: d, pools: pools, log: logger, opts: opts,
		now:   time.Now,
		kick:  make(chan struct{}, 1),
		cache: make(map[string]resolved),
	}
}

// CreateFunction registers a function name for an owner. The name is
// checked; a taken name is store.ErrConflict.
func (s *Service) CreateFunction(ctx context.Context, ownerID, name string) (store.Function, error) {
	if err := build.ValidName(name); err != nil {
		return store.Function{}, err
	}
	now := s.now()
	f := store.Function{
		ID:        uuid.NewString(),
		Name:      name,
		OwnerID:   ownerID,
		Status:    client.FunctionNew,
		Metadata:  json.RawMessage("{}"),
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := s.st.CreateFunction(ctx, f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Function{}, fmt.Errorf("function name %q is taken: %w", name, store.ErrConflict)
		}
		return store.Function{}, fmt.Errorf("create function: %w", err)
	}
	s.log.Info("function created", "function", name, "function_id", f.ID)
	return f, nil
}

// Upload checks an archive whole and queues it for a build. Nothing is
// stored unless every check passes; errors wrap build.ErrInvalid (bad
// archive, manifest or source) or build.ErrTooLarge.
func (s *Service) Upload(ctx context.Context, fn store.Function, body io.Reader) (store.Deployment, error) {
	tmp, err := os.MkdirTemp(s.opts.TempDir, "upload-")
	if err != nil {
		return store.Deployment{}, fmt.Errorf("upload: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			s.log.Warn("remove upload directory", "dir", tmp, "error", err)
		}
	}()

	f, size, err := s.spool(tmp, body)
	if err != nil {
		return store.Deployment{}, err
	}
	defer func() { _ = f.Close() }() // only read from here on
	tree := tmp + "/tree"
	if err := os.Mkdir(tree, 0o700); err != nil {
		return store.Deployment{}, fmt.Errorf("upload: %w", err)
	}
	src, err := build.Check(ctx, f, size, s.opts.Policy, tree)
	if err != nil {
		return store.Deployment{}, err
	}
	if src.Config.Name != "" && src.Config.Name != fn.Name {
		return store.Deployment{}, fmt.Errorf("%w: %s names function %q, but the upload is for %q",
			build.ErrInvalid, client.ManifestFile, src.Config.Name, fn.Name)
	}
	src.Config.Name = fn.Name
	cfg, err := json.Marshal(src.Config)
	if err != nil {
		return store.Deployment{}, fmt.Errorf("encode config: %w", err)
	}

	id := uuid.NewString()
	key := archiveKey(fn.ID, id)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return store.Deployment{}, fmt.Errorf("upload: %w", err)
	}
	if err := s.storage.Put(ctx, key, f); err != nil {
		return store.Deployment{}, fmt.Errorf("store archive: %w", err)
	}
	d, err := s.st.CreateDeployment(ctx, store.Deployment{
		ID:         id,
		FunctionID: fn.ID,
		Status:     client.DeploymentQueued,
		Runtime:    src.Config.Runtime,
		SourceHash: src.Hash,
		ArchiveKey: key,
		Config:     cfg,
		CreatedAt:  s.now(),
	})
	if err != nil {
		// Leave nothing behind: the archive goes with the failed row.
		if derr := s.storage.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.log.Error("remove archive of failed upload", "key", key, "error", derr)
		}
		return store.Deployment{}, fmt.Errorf("create deployment: %w", err)
	}
	s.log.Info("deployment queued", "function", fn.Name, "version", d.Version, "bytes", size)
	s.wake()
	return d, nil
}

// spool copies the upload to a file, refusing more than the limit.
func (s *Service) spool(dir string, body io.Reader) (*os.File, int64, error) {
	f, err := os.Create(dir + "/archive")
	if err != nil {
		return nil, 0, fmt.Errorf("upload: %w", err)
	}
	n, err := copyUpload(f, body, s.opts.Policy.MaxUploadBytes)
	if err != nil {
		_ = f.Close() // the file goes with dir, which the caller removes
		return nil, 0, err
	}
	return f, n, nil
}

// copyUpload copies an upload to w, refusing more than limit bytes, and
// an empty one.
func copyUpload(w io.Writer, body io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(body, limit+1))
	switch {
	case err != nil:
		return n, fmt.Errorf("read upload: %w", err)
	case n > limit:
		return n, fmt.Errorf("%w: archive is over the upload limit of %d MiB",
			build.ErrTooLarge, limit>>20)
	case n == 0:
		return n, fmt.Errorf("%w: the upload is empty: send a zip or tar.gz archive", build.ErrInvalid)
	}
	return n, nil
}

func archiveKey(functionID, deploymentID string) string {
	return "archives/" + functionID + "/" + deploymentID
}

// Config decodes a deployment's stored configuration.
func Config(d store.Deployment) (client.FunctionConfig, error) {
	var c client.FunctionConfig
	if err := json.Unmarshal(d.Config, &c); err != nil {
		return c, fmt.Errorf("decode config of deployment %s: %w", d.ID, err)
	}
	return c, nil
}

// poolDeployment is what the pool needs of a deployment.
func poolDeployment(fn store.Function, d store.Deployment) (pool.Deployment, error) {
	cfg, err := Config(d)
	if err != nil {
		return pool.Deployment{}, err
	}
	return pool.Deployment{
		FunctionID:   fn.ID,
		FunctionName: fn.Name,
		DeploymentID: d.ID,
		Version:      d.Version,
		Image:        d.ImageRef,
		Config:       cfg,
	}, nil
}

// Delete removes a function and everything it left: instances,
// containers, images, archives and rows. It can be retried after a
// failure part way.
func (s *Service) Delete(ctx context.Context, fn store.Function) error {
	if err := s.st.SetFunctionStatus(ctx, fn.ID, client.FunctionDeleting); err != nil {
		return fmt.Errorf("mark function deleting: %w", err)
	}
	s.forget(fn.Name)
	if err := s.pools.RemoveFunction(ctx, fn.ID); err != nil {
		return err
	}
	deps, err := s.st.ListDeployments(ctx, fn.ID)
	if err != nil {
		return fmt.Errorf("list deployments: %w", err)
	}
	for _, d := range deps {
		if d.ImageRef == "" {
			continue
		}
		if err := s.driver.RemoveImage(ctx, d.ImageRef); err != nil {
			return fmt.Errorf("remove image of version %d: %w", d.Version, err)
		}
	}
	if err := s.storage.DeletePrefix(ctx, "archives/"+fn.ID); err != nil {
		return fmt.Errorf("remove archives: %w", err)
	}
	if err := s.st.DeleteFunction(ctx, fn.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete function rows: %w", err)
	}
	s.forget(fn.Name)
	s.log.Info("function deleted", "function", fn.Name, "function_id", fn.ID, "versions", len(deps))
	return nil
}

package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/build"
	"github.com/containerpub/containerpub/internal/store"
)

// pollInterval is how often an idle worker looks for builds queued by
// another backend; uploads to this backend wake a worker at once.
const pollInterval = 2 * time.Second

// Recover puts builds this backend was running when it stopped back in
// the queue, along with builds any backend left for longer than the build
// timeout.
func (s *Service) Recover(ctx context.Context) error {
	n, err := s.st.RequeueDeployments(ctx, s.opts.BackendID, s.now().Add(-2*s.opts.BuildTimeout))
	if err != nil {
		return fmt.Errorf("requeue builds: %w", err)
	}
	if n > 0 {
		s.log.Info("requeued interrupted builds", "count", n)
	}
	return nil
}

// Run processes queued deployments until ctx ends, with Options.Workers
// builds at once, and returns when the builds under way have ended.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx)
		}()
	}
	wg.Wait()
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Service) work(ctx context.Context) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			d, err := s.st.ClaimDeployment(ctx, s.opts.BackendID, s.now())
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if err != nil {
				s.log.Error("claim build", "error", err)
				break
			}
			s.process(ctx, d)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

// process builds a claimed deployment, starts its first instance, and
// activates it. Any failure leaves the previous version active. A build
// cut short because the backend is stopping stays claimed, and Recover
// puts it back in the queue at the next start.
func (s *Service) process(ctx context.Context, d store.Deployment) {
	bctx, cancel := context.WithTimeout(ctx, s.opts.BuildTimeout)
	defer cancel()
	fn, err := s.st.FunctionByID(bctx, d.FunctionID)
	if err != nil {
		s.log.Error("build of a missing function", "deployment", d.ID, "error", err)
		return
	}
	log := newBuildLog(s.st, d.ID, s.log)
	defer log.finish()
	start := s.now()
	s.log.Info("build started", "function", fn.Name, "version", d.Version)

	err = s.buildAndActivate(bctx, fn, d, log)
	switch {
	case err == nil:
		s.log.Info("deployment active", "function", fn.Name, "version", d.Version,
			"duration", s.now().Sub(start))
	case ctx.Err() != nil:
		log.printf("\nbuild interrupted: the backend is stopping; it will run again\n")
		s.log.Info("build interrupted by shutdown; requeued at the next start",
			"function", fn.Name, "version", d.Version)
	default:
		s.fail(ctx, fn, d, log, err, s.now().Sub(start))
	}
}

// fail records why a deployment failed.
func (s *Service) fail(ctx context.Context, fn store.Function, d store.Deployment, log *buildLog, err error, took time.Duration) {
	reason := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		reason = fmt.Sprintf("build did not finish within %s", s.opts.BuildTimeout)
	}
	log.printf("\ndeployment failed: %s\n", reason)
	log.finish()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ferr := s.st.FailDeployment(wctx, d.ID, reason, s.now()); ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
		s.log.Error("mark deployment failed", "deployment", d.ID, "error", ferr)
	}
	s.log.Warn("deployment failed", "function", fn.Name, "version", d.Version,
		"duration", took, "error", err)
}

// buildAndActivate builds the image, starts the first instance and
// switches the active version. On failure it removes what it made: the
// image and the version's instances.
func (s *Service) buildAndActivate(ctx context.Context, fn store.Function, d store.Deployment, log *buildLog) error {
	image, err := s.builder.Build(ctx, build.Job{
		FunctionID:   fn.ID,
		DeploymentID: d.ID,
		OwnerID:      fn.OwnerID,
		Version:      d.Version,
		ArchiveKey:   d.ArchiveKey,
	}, log)
	if err != nil {
		return err
	}
	d.ImageRef = image
	if err := s.start(ctx, fn, d, log); err != nil {
		// The function may be gone by now; its image must not stay.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rerr := s.driver.RemoveImage(rctx, image); rerr != nil {
			s.log.Error("remove image of failed deployment", "image", image, "error", rerr)
		}
		return err
	}
	return nil
}

// start records the image, starts the version's first instance and, once
// it listens, makes the version active.
func (s *Service) start(ctx context.Context, fn store.Function, d store.Deployment, log *buildLog) error {
	if err := s.st.SetDeploymentImage(ctx, d.ID, d.ImageRef); err != nil {
		return fmt.Errorf("record image: %w", err)
	}
	pd, err := poolDeployment(fn, d)
	if err != nil {
		return err
	}
	log.printf("starting the first instance of version %d\n", d.Version)
	started := s.now()
	if err := s.pools.Stage(pd).Warm(ctx); err != nil {
		s.pools.Discard(pd.DeploymentID)
		return fmt.Errorf("first instance did not start: %w", err)
	}
	log.printf("instance listening after %s\n", s.now().Sub(started).Round(time.Millisecond))

	if err := s.st.ActivateDeployment(ctx, fn.ID, d.ID, s.now()); err != nil {
		s.pools.Discard(pd.DeploymentID)
		return fmt.Errorf("activate: %w", err)
	}
	// A delete that began during the build has removed, or will remove,
	// the function's pools; this one must not outlive it.
	if now, err := s.st.FunctionByID(ctx, fn.ID); err != nil || now.Status == client.FunctionDeleting {
		s.pools.Discard(pd.DeploymentID)
		return fmt.Errorf("function %s was deleted during the build", fn.Name)
	}
	s.pools.Activate(pd)
	s.forget(fn.Name)
	log.printf("version %d is active\n", d.Version)
	return nil
}

// buildLog collects a build's output and appends it to the deployment's
// log in the database about twice a second, so that any backend can
// stream it to a client following the build.
type buildLog struct {
	st  store.Store
	id  string
	log *slog.Logger

	mu      sync.Mutex
	pending []byte
	closed  bool
	done    chan struct{}
	stopped chan struct{}
}

const (
	buildLogInterval = 500 * time.Millisecond
	// maxBuildLog bounds what is kept of one build's output.
	maxBuildLog = 4 << 20
)

func newBuildLog(st store.Store, id string, logger *slog.Logger) *buildLog {
	l := &buildLog{st: st, id: id, log: logger, done: make(chan struct{}), stopped: make(chan struct{})}
	go l.loop()
	return l
}

// Write queues p. It never fails: a store that refuses the log is
// logged by flush, and the build goes on.
func (l *buildLog) Write(p []byte) (int, error) {
	l.add(p)
	return len(p), nil
}

// printf queues a line of the backend's own about the build.
func (l *buildLog) printf(format string, args ...any) {
	l.add(fmt.Appendf(nil, format, args...))
}

func (l *buildLog) add(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) < maxBuildLog {
		l.pending = append(l.pending, p...)
	}
}

func (l *buildLog) loop() {
	defer close(l.stopped)
	t := time.NewTicker(buildLogInterval)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			l.flush()
			return
		case <-t.C:
			l.flush()
		}
	}
}

func (l *buildLog) flush() {
	l.mu.Lock()
	chunk := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(chunk) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.st.AppendBuildLog(ctx, l.id, store.CleanText(string(chunk))); err != nil {
		l.log.Error("append build log", "deployment", l.id, "error", err)
	}
}

// finish writes what is left and stops the writer. It may be called
// twice.
func (l *buildLog) finish() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	close(l.done)
	<-l.stopped
}

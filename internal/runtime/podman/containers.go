package podman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/containerpub/containerpub/internal/runtime"
)

// Create creates a container and initialises it, so that its storage is
// mounted and its OCI container exists: Start then only starts the
// process, which is most of the point of preparing instances ahead of
// calls. The container's instance directory is made first and removed
// again if anything fails.
func (d *Driver) Create(ctx context.Context, spec runtime.ContainerSpec) (runtime.Container, error) {
	if err := d.checkName(spec.Name); err != nil {
		return runtime.Container{}, err
	}
	if spec.Image == "" {
		return runtime.Container{}, fmt.Errorf("create container %q: no image", spec.Name)
	}
	lim, err := d.resolveLimits(spec.Limits)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("create container %q: %w", spec.Name, err)
	}
	if err := d.makeInstanceDir(ctx, spec.Name); err != nil {
		return runtime.Container{}, err
	}
	start := time.Now()
	cs := d.createSpec(spec, lim)
	ans, err := d.c.createContainer(ctx, cs)
	if err != nil {
		d.undoCanceledCreate(ctx, cs)
		d.removeInstanceDir(spec.Name)
		return runtime.Container{}, err
	}
	if err := d.c.initContainer(ctx, ans.ID); err != nil {
		d.undoCreate(ctx, ans.ID, spec.Name)
		return runtime.Container{}, err
	}
	d.logger.Debug("container created", "container_id", ans.ID, "name", spec.Name,
		"duration", time.Since(start))
	return runtime.Container{
		ID:       ans.ID,
		Name:     spec.Name,
		Labels:   cs.Labels,
		State:    runtime.StateCreated,
		Endpoint: d.endpoint(spec.Name),
	}, nil
}

// makeInstanceDir makes the directory mounted into container name. A
// directory left by a container that no longer exists is replaced; one
// whose container exists means the name is taken.
func (d *Driver) makeInstanceDir(ctx context.Context, name string) error {
	dir := d.instanceDir(name)
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, os.ErrExist) {
		if _, ierr := d.c.inspectContainer(ctx, name); !errors.Is(ierr, runtime.ErrNotFound) {
			return fmt.Errorf("create container %q: name in use or unknown: %w", name, errors.Join(err, ierr))
		}
		d.logger.Warn("replacing stale instance dir", "name", name)
		unmountInstanceDir(dir)
		if err = os.RemoveAll(dir); err == nil {
			err = os.Mkdir(dir, 0o700)
		}
	}
	if err != nil {
		return fmt.Errorf("create instance dir: %w", err)
	}
	if err := d.mountInstanceDir(dir); err != nil {
		d.removeInstanceDir(name)
		return err
	}
	// The container's user maps to a host id picked by Podman at create
	// time, so the directory is open to all; the 0700 instances dir
	// keeps other host users out.
	if err := os.Chmod(dir, 0o777); err != nil { //nolint:gosec // See above: the parent is 0700.
		d.removeInstanceDir(name)
		return fmt.Errorf("open instance dir: %w", err)
	}
	return nil
}

// removeInstanceDir removes the directory of container name, logging a
// failure: the caller is already cleaning up or has succeeded otherwise.
func (d *Driver) removeInstanceDir(name string) {
	dir := d.instanceDir(name)
	unmountInstanceDir(dir)
	if err := os.RemoveAll(dir); err != nil {
		d.logger.Warn("remove instance dir failed", "name", name, "error", err)
	}
}

// instanceFS bounds an instance directory: it holds one socket, and the
// function may write to it, so it gets a tiny file system of its own
// instead of the host's disk.
const instanceFS = "size=64k,nr_inodes=64,mode=0777"

// mountInstanceDir mounts a small tmpfs on an instance directory when the
// backend may mount (it runs as root). An unprivileged backend keeps a
// plain directory, which the function could fill up to the disk's free
// space; its containers then rely on the host's disk quota.
func (d *Driver) mountInstanceDir(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	err := unix.Mount("containerpub-instance", dir, "tmpfs",
		unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, instanceFS)
	if err != nil {
		return fmt.Errorf("mount instance dir: %w", err)
	}
	return nil
}

// unmountInstanceDir detaches an instance directory's tmpfs, if any.
func unmountInstanceDir(dir string) {
	_ = unix.Unmount(dir, unix.MNT_DETACH) // EINVAL: nothing mounted there
}

// undoCreate removes a container whose creation failed half way.
func (d *Driver) undoCreate(ctx context.Context, id, name string) {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := d.c.deleteContainer(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		d.logger.Warn("remove half-created container failed", "container_id", id, "error", err)
	}
	d.removeInstanceDir(name)
}

// undoCanceledCreate removes the container a create call may have made
// after its context ended: Podman carries on with a request the client
// gave up, and the id never came back. Only a never-started container
// with all the spec's labels is taken for that one.
func (d *Driver) undoCanceledCreate(ctx context.Context, cs createSpec) {
	if ctx.Err() == nil {
		return
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	ins, err := d.c.inspectContainer(ctx, cs.Name)
	if err != nil || containerState(ins.State.Status) != runtime.StateCreated ||
		!containsLabels(ins.Config.Labels, cs.Labels) {
		return
	}
	if err := d.c.deleteContainer(ctx, ins.ID); err != nil {
		d.logger.Warn("remove container of a canceled create failed", "container_id", ins.ID, "error", err)
	}
}

// Attach streams the container's output to stdout and stderr (either may
// be nil) until the container exits, ctx ends or the stream breaks, then
// closes the returned channel.
func (d *Driver) Attach(ctx context.Context, id string, stdout, stderr io.Writer) (<-chan struct{}, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	stream, err := d.c.attachContainer(ctx, id)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Closing the stream is the only way to interrupt a read of it.
		stop := context.AfterFunc(ctx, func() { _ = stream.Close() })
		err := demux(stream, orDiscard(stdout), orDiscard(stderr))
		stop()
		_ = stream.Close()
		if err != nil && ctx.Err() == nil {
			d.logger.Warn("attach stream broke", "container_id", id, "error", err)
		}
	}()
	return done, nil
}

// Start starts a created container's process. Starting a running
// container is not an error.
func (d *Driver) Start(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	return d.c.startContainer(ctx, id)
}

// Stop sends the container SIGTERM and kills it when grace has passed;
// Podman counts grace in whole seconds, so it is rounded up. It returns
// once the process is gone. Stopping a stopped container is not an error.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	if err := checkID(id); err != nil {
		return err
	}
	secs := uint(0)
	if grace > 0 {
		secs = uint(min(math.Ceil(grace.Seconds()), math.MaxUint32))
	}
	return d.c.stopContainer(ctx, id, secs)
}

// Remove kills and removes a container and its instance directory.
// Removing a missing container is not an error.
func (d *Driver) Remove(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return nil
	}
	ins, err := d.c.inspectContainer(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		// The container may be gone while its directory is not, after a
		// crash between the two; id is then its name.
		d.removeInstanceDir(id)
		return nil
	}
	if err != nil {
		return err
	}
	if err := d.deleteContainer(ctx, ins.ID); err != nil {
		return err
	}
	if d.checkName(ins.Name) == nil {
		d.removeInstanceDir(ins.Name)
	}
	d.logger.Debug("container removed", "container_id", ins.ID, "name", ins.Name)
	return nil
}

// deleteContainer deletes a container, counting a failure after which the
// container is gone anyway as success: Podman reports errors of its
// storage cleanup that its conmon-driven cleanup then finishes.
func (d *Driver) deleteContainer(ctx context.Context, id string) error {
	err := d.c.deleteContainer(ctx, id)
	if err == nil || errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if _, ierr := d.c.inspectContainer(ctx, id); errors.Is(ierr, runtime.ErrNotFound) {
		d.logger.Debug("container removed despite error", "container_id", id, "error", err)
		return nil
	}
	return err
}

// Inspect returns a container's state and, once it has exited, why.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Container, runtime.ExitState, error) {
	if err := checkID(id); err != nil {
		return runtime.Container{}, runtime.ExitState{}, err
	}
	ins, err := d.c.inspectContainer(ctx, id)
	if err != nil {
		return runtime.Container{}, runtime.ExitState{}, err
	}
	state := containerState(ins.State.Status)
	c := runtime.Container{
		ID:       ins.ID,
		Name:     ins.Name,
		Labels:   ins.Config.Labels,
		State:    state,
		Endpoint: d.endpoint(ins.Name),
	}
	exit := runtime.ExitState{
		State:     state,
		ExitCode:  ins.State.ExitCode,
		OOMKilled: ins.State.OOMKilled,
		Error:     ins.State.Error,
	}
	if !ins.State.FinishedAt.IsZero() && state == runtime.StateExited {
		exit.FinishedAt = ins.State.FinishedAt
	}
	return c, exit, nil
}

// List returns the driver's containers, in any state, that carry all the
// labels.
func (d *Driver) List(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	filter := map[string]string{runtime.LabelManaged: "true"}
	for k, v := range labels {
		filter[k] = v
	}
	entries, err := d.c.listContainers(ctx, filter)
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Container, 0, len(entries))
	for _, e := range entries {
		if len(e.Names) == 0 {
			continue
		}
		out = append(out, runtime.Container{
			ID:       e.ID,
			Name:     e.Names[0],
			Labels:   e.Labels,
			State:    containerState(e.State),
			Endpoint: d.endpoint(e.Names[0]),
		})
	}
	return out, nil
}

// errNoStats is a container Podman has no reading for.
var errNoStats = errors.New("no stats reported")

// Stats reads a container's resource use. A container that is not running
// reads as zero.
func (d *Driver) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	if err := checkID(id); err != nil {
		return runtime.Stats{}, err
	}
	s, ok, err := d.c.containerStats(ctx, id)
	if err != nil {
		return runtime.Stats{}, err
	}
	if !ok {
		// Podman's stats answer loses the reason; inspect finds it.
		if _, ierr := d.c.inspectContainer(ctx, id); ierr != nil {
			return runtime.Stats{}, ierr
		}
		return runtime.Stats{}, fmt.Errorf("stats of container %q: %w", id, errNoStats)
	}
	return runtime.Stats{
		MemoryBytes:      s.MemUsage,
		MemoryLimitBytes: s.MemLimit,
		CPUNanos:         s.CPUNano,
		Pids:             s.PIDs,
	}, nil
}

// containsLabels reports whether have holds every label of want. A
// container's labels include its image's, so equality is too strict.
func containsLabels(have, want map[string]string) bool {
	for k, v := range want {
		if x, ok := have[k]; !ok || x != v {
			return false
		}
	}
	return true
}

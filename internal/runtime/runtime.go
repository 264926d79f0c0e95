// Package runtime defines the container runtime driver: what the backend
// needs from Podman today and from Kubernetes later. The Podman driver
// lives in internal/runtime/podman; internal/runtime/runtimetest is the
// suite every driver passes.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned for a container or image that does not exist.
var ErrNotFound = errors.New("not found")

// Labels every driver puts on the containers it creates, so that a
// backend can find, adopt or remove them after a restart.
const (
	// LabelManaged marks a container as ContainerPub's ("true").
	LabelManaged = "containerpub.managed"
	// LabelBackend is the id of the backend that owns the container.
	LabelBackend = "containerpub.backend"
	// LabelFunction is the function's id.
	LabelFunction = "containerpub.function"
	// LabelDeployment is the deployment's id.
	LabelDeployment = "containerpub.deployment"
)

// The function contract every runtime template follows.
const (
	// SocketEnv names the environment variable holding the path of the
	// unix socket a function instance must listen on for HTTP. The socket's
	// directory is the only host path the container sees.
	SocketEnv = "CONTAINERPUB_SOCKET"
	// CallEndMarker, followed by a request id and a newline, is written by a
	// function instance to stdout and to stderr when it has finished a
	// call, so that every line before it is attributed to that call. A
	// runtime that does not write it gets its lines attributed by time.
	CallEndMarker = "\x1econtainerpub-end "
	// MarkersEnv is set to "1" when the platform wants CallEndMarker
	// written: only when an instance serves one call at a time, since only
	// then can lines be attributed to calls. Without it the markers would
	// cost every call two writes through the container's log pipes.
	MarkersEnv = "CONTAINERPUB_CALL_MARKERS"
)

// Container states, as reported by Inspect and List.
const (
	// StateCreated is a container created, and possibly initialised, but
	// never started: a prepared instance.
	StateCreated = "created"
	// StateRunning is a started container whose process runs.
	StateRunning = "running"
	// StateExited is a container whose process ended.
	StateExited = "exited"
	// StateOther is any other state (paused, stopping, removing).
	StateOther = "other"
)

// Endpoint is where the backend reaches a function instance over HTTP.
type Endpoint struct {
	// Network is "unix" or "tcp".
	Network string
	// Address is a socket path for unix, host:port for tcp.
	Address string
}

// Limits bound a container's resources. Zero fields mean no limit, except
// OpenFiles and Procs, which a driver sets to a safe default.
type Limits struct {
	MemoryBytes int64
	// NanoCPUs is CPU time in billionths of a core (500000000 is half).
	NanoCPUs  int64
	Pids      int64
	OpenFiles int64
	Procs     int64
	// TmpfsBytes sizes the writable /tmp; the root file system is
	// read-only.
	TmpfsBytes int64
}

// ContainerSpec describes a function instance.
type ContainerSpec struct {
	// Name is unique among the driver's containers.
	Name   string
	Image  string
	Labels map[string]string
	Env    map[string]string
	Limits Limits
	// Network gives the container a network; without it the container
	// has none and is reached only through its Endpoint.
	Network bool
}

// Container is a container as the driver sees it.
type Container struct {
	ID       string
	Name     string
	Labels   map[string]string
	State    string
	Endpoint Endpoint
}

// ExitState says why a container stopped.
type ExitState struct {
	State     string
	ExitCode  int
	OOMKilled bool
	// Error is the runtime's own error, when it failed to run the process.
	Error      string
	FinishedAt time.Time
}

// Stats is a point-in-time resource reading of a running container.
type Stats struct {
	MemoryBytes      uint64
	MemoryLimitBytes uint64
	// CPUNanos is the CPU time used since the container started.
	CPUNanos uint64
	Pids     uint64
}

// BuildSpec describes an image build.
type BuildSpec struct {
	// Tag names the image, for example localhost/containerpub/fn-x:3.
	Tag string
	// Context is a tar stream of the build context.
	Context io.Reader
	// Containerfile is the path of the Containerfile inside the context.
	Containerfile string
	Labels        map[string]string
	BuildArgs     map[string]string
	// MemoryBytes caps the memory of the build's steps; 0 is no limit.
	MemoryBytes int64
	// KeepLayers keeps every step's result as an image so that a later
	// build with the same steps reuses it. Without it only the final
	// image remains: function builds, whose sources always differ, would
	// otherwise leave a trail of unused intermediate images.
	KeepLayers bool
}

// Driver runs containers. Implementations are safe for concurrent use and
// honour context cancellation. Methods taking a container id or image
// reference return an error wrapping ErrNotFound when it does not exist.
type Driver interface {
	// Build builds an image, writing the build's output to log as it
	// happens. A failed build returns an error whose message ends with the
	// build's own last error line.
	Build(ctx context.Context, spec BuildSpec, log io.Writer) (imageID string, err error)
	// ImageExists reports whether an image is present.
	ImageExists(ctx context.Context, ref string) (bool, error)
	// RemoveImage removes an image. Removing a missing image is not an
	// error.
	RemoveImage(ctx context.Context, ref string) error

	// Create creates a container and prepares it so that Start only has to
	// start its process. It labels the container with spec.Labels plus
	// LabelManaged.
	Create(ctx context.Context, spec ContainerSpec) (Container, error)
	// Attach streams the container's stdout and stderr to the writers
	// until it exits, ctx ends, or the stream breaks; the returned channel
	// closes then. Attaching before Start captures all output.
	Attach(ctx context.Context, id string, stdout, stderr io.Writer) (<-chan struct{}, error)
	// Start starts a created container's process.
	Start(ctx context.Context, id string) error
	// Stop stops a container, killing it after grace. Stopping a stopped
	// container is not an error.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove removes a container, killing it first if it runs, and frees
	// what the driver made for it. Removing a missing container is not an
	// error.
	Remove(ctx context.Context, id string) error
	// Inspect returns a container's state.
	Inspect(ctx context.Context, id string) (Container, ExitState, error)
	// List returns the driver's containers that carry all the labels.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
	// Stats reads a running container's resource use.
	Stats(ctx context.Context, id string) (Stats, error)
}

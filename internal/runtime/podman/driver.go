package podman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/containerpub/containerpub/internal/runtime"
)

// Options configure a Driver.
type Options struct {
	// InstancesDir is the host directory holding one directory per
	// container, with the function's unix socket in it. It is created
	// with mode 0700 if missing, and must be short: a socket path is at
	// most 107 bytes. Required.
	InstancesDir string
	// Logger receives the driver's logs. Default: discard.
	Logger *slog.Logger
	// OCIRuntime names the OCI runtime containers run with, for example
	// "runc". Default: the service's default runtime.
	OCIRuntime string
	// LogSizeBytes caps the log file Podman keeps of each container's
	// output, so that a chatty function cannot fill the disk. The backend
	// reads output through Attach, not this file. Default: 1 MiB.
	LogSizeBytes int64
	// UserNSSize is the number of user and group ids in each container's
	// user namespace. Default: 65536.
	UserNSSize uint32
}

// Driver runs function instances as Podman containers through the libpod
// REST API. It is safe for concurrent use.
type Driver struct {
	c          *client
	logger     *slog.Logger
	dir        string
	maxNameLen int
	ociRuntime string
	logSize    int64
	userNSSize uint32
	// hostOpenFiles and hostProcs are the host's hard rlimits, the most
	// a container may be given.
	hostOpenFiles uint64
	hostProcs     uint64
}

var _ runtime.Driver = (*Driver)(nil)

// maxSocketPath is the longest path a unix socket address holds on
// Linux (108 bytes with the terminating NUL).
const maxSocketPath = 107

// minNameLen is the shortest container name limit New accepts; a shorter
// one means the instances directory's path is too long to be useful.
const minNameLen = 32

// New returns a Driver talking to the libpod API at socketPath. It does no
// I/O with Podman; call Ping to check that the service answers.
func New(socketPath string, opts Options) (*Driver, error) {
	if socketPath == "" {
		return nil, errors.New("podman socket path is empty")
	}
	dir, err := prepareInstancesDir(opts.InstancesDir)
	if err != nil {
		return nil, err
	}
	maxName := maxSocketPath - len(dir) - len("/"+"/"+socketName)
	if maxName < minNameLen {
		return nil, fmt.Errorf("instances dir %s too long for socket paths: "+
			"leaves %d bytes for names", dir, maxName)
	}
	openFiles, procs, err := hostRlimits()
	if err != nil {
		return nil, err
	}
	d := &Driver{
		c:             newClient(socketPath),
		logger:        opts.Logger,
		dir:           dir,
		maxNameLen:    maxName,
		ociRuntime:    opts.OCIRuntime,
		logSize:       opts.LogSizeBytes,
		userNSSize:    opts.UserNSSize,
		hostOpenFiles: openFiles,
		hostProcs:     procs,
	}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	if d.logSize <= 0 {
		d.logSize = 1 << 20
	}
	if d.userNSSize == 0 {
		d.userNSSize = 65536
	}
	return d, nil
}

// prepareInstancesDir creates dir with mode 0700, or tightens it to 0700.
// The per-container directories inside are open to all, since the
// container's user is an id the host does not know in advance; this
// directory keeps the host's other users out of them.
func prepareInstancesDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("instances dir is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("instances dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("create instances dir: %w", err)
	}
	if err := os.Chmod(abs, 0o700); err != nil { //nolint:gosec // A directory needs x to be entered.
		return "", fmt.Errorf("restrict instances dir: %w", err)
	}
	return abs, nil
}

// hostRlimits reads the hard open file and process limits of this
// process, which the Podman service on the same host shares.
func hostRlimits() (openFiles, procs uint64, err error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("read open files limit: %w", err)
	}
	openFiles = lim.Max
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &lim); err != nil {
		return 0, 0, fmt.Errorf("read process limit: %w", err)
	}
	return openFiles, lim.Max, nil
}

// Close releases the driver's idle connections. Containers are left as
// they are.
func (d *Driver) Close() error {
	d.c.close()
	return nil
}

// Ping checks that the Podman service answers.
func (d *Driver) Ping(ctx context.Context) error {
	return d.c.ping(ctx)
}

// Info describes the Podman service.
func (d *Driver) Info(ctx context.Context) (Info, error) {
	return d.c.info(ctx)
}

// checkID refuses an id that no container can have, so that it never
// reaches a URL path or the instances directory. Such a container does
// not exist, hence ErrNotFound.
func checkID(id string) error {
	if !validName.MatchString(id) {
		return fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	return nil
}

// cleanupTimeout bounds the calls that undo a half-made container, which
// run even when the caller's context has ended.
const cleanupTimeout = 30 * time.Second

// cleanupContext returns a context for undoing work after ctx may have
// ended: it keeps ctx's values but not its cancellation.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

// orDiscard returns w, or io.Discard when w is nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

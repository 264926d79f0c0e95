package podman

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/containerpub/containerpub/internal/runtime"
)

// Paths inside every container.
const (
	// socketDir is where the instance directory is mounted: the only host
	// path the container sees.
	socketDir = "/run/containerpub"
	// socketName is the function's socket inside socketDir.
	socketName = "fn.sock"
)

// containerUser runs the function as nobody inside its own user
// namespace, whatever USER the image names: a function never needs root,
// and the image comes from user code.
const containerUser = "65534:65534"

// Defaults for limits the driver always sets.
const (
	defaultOpenFiles = 1024
	defaultProcs     = 1024
	// defaultShmBytes sizes /dev/shm when the spec gives no tmpfs size;
	// it is Podman's own default.
	defaultShmBytes = 64 << 20
	// cpuPeriod is the CFS period in microseconds the CPU quota is
	// expressed in.
	cpuPeriod = 100000
	// minCPUQuota is the smallest quota the kernel accepts, in
	// microseconds.
	minCPUQuota = 1000
	// stopTimeout is the grace Podman itself gives a container it stops
	// on its own (at shutdown, say); the driver always passes its own.
	stopTimeout uint = 10
)

// validName matches the container names Podman accepts. Since a name is
// also a directory below the instances directory, it must never hold a
// slash or be "." or "..", which the first character rules out.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// checkName reports whether name can name a container and its instance
// directory, whose socket path must fit in a unix socket address.
func (d *Driver) checkName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid container name %q: "+
			"want letters, digits, _ . - and a letter or digit first", name)
	}
	if len(name) > d.maxNameLen {
		return fmt.Errorf("container name %q too long: "+
			"at most %d bytes fit in a socket path below %s", name, d.maxNameLen, d.dir)
	}
	return nil
}

// instanceDir is the host directory holding the socket of container name.
func (d *Driver) instanceDir(name string) string {
	return filepath.Join(d.dir, name)
}

// endpoint is where container name's function listens, as the host sees
// it. It depends on the name alone, so it can be rebuilt after a restart.
func (d *Driver) endpoint(name string) runtime.Endpoint {
	return runtime.Endpoint{
		Network: "unix",
		Address: filepath.Join(d.instanceDir(name), socketName),
	}
}

// resolveLimits fills in the open file and process limits and refuses
// values the host cannot grant: without CAP_SYS_RESOURCE a container may
// not raise an rlimit above the host's, and Podman would only say so when
// the container is initialised, in a less helpful way.
func (d *Driver) resolveLimits(l runtime.Limits) (runtime.Limits, error) {
	if l.OpenFiles == 0 {
		l.OpenFiles = int64(min(defaultOpenFiles, d.hostOpenFiles))
	}
	if l.Procs == 0 {
		l.Procs = int64(min(defaultProcs, d.hostProcs))
	}
	if l.OpenFiles < 0 || uint64(l.OpenFiles) > d.hostOpenFiles {
		return runtime.Limits{}, fmt.Errorf("open files limit %d outside 1..%d, the host's",
			l.OpenFiles, d.hostOpenFiles)
	}
	if l.Procs < 0 || uint64(l.Procs) > d.hostProcs {
		return runtime.Limits{}, fmt.Errorf("process limit %d outside 1..%d, the host's", l.Procs, d.hostProcs)
	}
	if l.MemoryBytes < 0 || l.NanoCPUs < 0 || l.Pids < 0 || l.TmpfsBytes < 0 {
		return runtime.Limits{}, fmt.Errorf("negative limit in %+v", l)
	}
	return l, nil
}

// createSpec turns a container spec into Podman's. The container gets its
// own user namespace, no capabilities, no privilege gain, a read-only
// root, no network unless asked, and only the instance directory of the
// host.
func (d *Driver) createSpec(spec runtime.ContainerSpec, lim runtime.Limits) createSpec {
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelManaged] = "true"
	env := maps.Clone(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	env[runtime.SocketEnv] = socketDir + "/" + socketName

	timeout := stopTimeout
	s := createSpec{
		Name:       spec.Name,
		Image:      spec.Image,
		Labels:     labels,
		Env:        env,
		User:       containerUser,
		OCIRuntime: d.ociRuntime,
		Systemd:    "false",
		UserNS:     &namespace{NSMode: "auto", Value: "size=" + strconv.FormatUint(uint64(d.userNSSize), 10)},
		IDMappings: &idMappings{AutoUserNs: true, AutoUserNsOpts: autoUserNsOpts{Size: d.userNSSize}},
		// Podman's default IPC mode mounts /dev/shm on the host, and
		// removing a running container then races with conmon's cleanup
		// of that mount (EBUSY, seen in about one removal in three).
		// With no IPC mode /dev/shm is a tmpfs of the container's own,
		// mounted below.
		IPCNS:              &namespace{NSMode: "none"},
		ReadOnlyFilesystem: true,
		ReadWriteTmpfs:     false,
		CapDrop:            []string{"all"},
		NoNewPrivileges:    true,
		SeccompPolicy:      "default",
		ResourceLimits:     resources(lim),
		RLimits: []rlimit{
			{Type: "nofile", Hard: lim.OpenFiles, Soft: lim.OpenFiles},
			{Type: "nproc", Hard: lim.Procs, Soft: lim.Procs},
		},
		Mounts:      d.mounts(spec.Name, lim),
		StopTimeout: &timeout,
		LogConfig:   &logConfig{Driver: "k8s-file", Size: d.logSize},
	}
	if !spec.Network {
		s.NetNS = &namespace{NSMode: "none"}
	}
	return s
}

// resources writes the cgroup limits; nil when there are none.
func resources(lim runtime.Limits) *resourceLimits {
	var r resourceLimits
	if lim.MemoryBytes > 0 {
		r.Memory = &memoryLimits{Limit: lim.MemoryBytes, Swap: lim.MemoryBytes}
	}
	if lim.NanoCPUs > 0 {
		quota := max(lim.NanoCPUs*cpuPeriod/1e9, minCPUQuota)
		r.CPU = &cpuLimits{Quota: quota, Period: cpuPeriod}
	}
	if lim.Pids > 0 {
		r.Pids = &pidsLimits{Limit: lim.Pids}
	}
	if r == (resourceLimits{}) {
		return nil
	}
	return &r
}

// mounts are the instance directory, read-write but with nothing
// executable, and the writable tmpfs mounts.
func (d *Driver) mounts(name string, lim runtime.Limits) []mount {
	tmpOpts := []string{"nosuid", "nodev"}
	shmSize := int64(defaultShmBytes)
	if lim.TmpfsBytes > 0 {
		tmpOpts = append(tmpOpts, "size="+strconv.FormatInt(lim.TmpfsBytes, 10))
		shmSize = lim.TmpfsBytes
	}
	return []mount{
		{
			Destination: socketDir,
			Source:      d.instanceDir(name),
			Type:        "bind",
			Options:     []string{"rw", "nosuid", "nodev", "noexec"},
		},
		{Destination: "/tmp", Source: "tmpfs", Type: "tmpfs", Options: tmpOpts},
		{
			Destination: "/dev/shm",
			Source:      "shm",
			Type:        "tmpfs",
			Options:     []string{"nosuid", "nodev", "noexec", "size=" + strconv.FormatInt(shmSize, 10)},
		},
	}
}

// containerState maps Podman's container status to the driver's.
func containerState(status string) string {
	switch status {
	case "configured", "created", "initialized":
		return runtime.StateCreated
	case "running":
		return runtime.StateRunning
	case "stopped", "exited":
		return runtime.StateExited
	}
	return runtime.StateOther
}

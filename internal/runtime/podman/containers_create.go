package podman

import (
	"context"
	"fmt"
)

// createSpec is the part of libpod's SpecGenerator the driver fills in.
// Field names and nesting are those Podman 4.3 accepts; a key it does
// not know is silently ignored, so each one here was checked by reading
// the created container back.
type createSpec struct {
	Name       string            `json:"name"`
	Image      string            `json:"image"`
	Labels     map[string]string `json:"labels,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	User       string            `json:"user,omitempty"`
	OCIRuntime string            `json:"oci_runtime,omitempty"`
	Systemd    string            `json:"systemd,omitempty"`

	// UserNS and IDMappings must both be set: Podman 4.3 honours
	// neither alone.
	UserNS     *namespace  `json:"userns,omitempty"`
	IDMappings *idMappings `json:"idmappings,omitempty"`
	NetNS      *namespace  `json:"netns,omitempty"`
	IPCNS      *namespace  `json:"ipcns,omitempty"`

	ReadOnlyFilesystem bool     `json:"read_only_filesystem"`
	ReadWriteTmpfs     bool     `json:"read_write_tmpfs"`
	CapDrop            []string `json:"cap_drop,omitempty"`
	NoNewPrivileges    bool     `json:"no_new_privileges"`
	SeccompPolicy      string   `json:"seccomp_policy,omitempty"`

	ResourceLimits *resourceLimits `json:"resource_limits,omitempty"`
	RLimits        []rlimit        `json:"r_limits,omitempty"`
	Mounts         []mount         `json:"mounts,omitempty"`

	StopTimeout *uint      `json:"stop_timeout,omitempty"`
	LogConfig   *logConfig `json:"log_configuration,omitempty"`
}

// namespace selects how a container gets one kind of namespace.
type namespace struct {
	NSMode string `json:"nsmode"`
	Value  string `json:"value,omitempty"`
}

// idMappings asks for an automatic user namespace of Size ids.
type idMappings struct {
	AutoUserNs     bool           `json:"AutoUserNs"`
	AutoUserNsOpts autoUserNsOpts `json:"AutoUserNsOpts"`
}

type autoUserNsOpts struct {
	Size uint32 `json:"Size"`
}

// resourceLimits mirrors the OCI runtime spec's LinuxResources.
type resourceLimits struct {
	Memory *memoryLimits `json:"memory,omitempty"`
	CPU    *cpuLimits    `json:"cpu,omitempty"`
	Pids   *pidsLimits   `json:"pids,omitempty"`
}

type memoryLimits struct {
	Limit int64 `json:"limit"`
	// Swap is memory plus swap; set equal to Limit it forbids swapping.
	Swap int64 `json:"swap"`
}

type cpuLimits struct {
	Quota  int64  `json:"quota"`
	Period uint64 `json:"period"`
}

type pidsLimits struct {
	Limit int64 `json:"limit"`
}

type rlimit struct {
	Type string `json:"type"`
	Hard int64  `json:"hard"`
	Soft int64  `json:"soft"`
}

// mount is an OCI runtime spec mount.
type mount struct {
	Destination string   `json:"destination"`
	Source      string   `json:"source"`
	Type        string   `json:"type"`
	Options     []string `json:"options,omitempty"`
}

type logConfig struct {
	Driver string `json:"driver"`
	// Size is the most bytes the log file may hold.
	Size int64 `json:"size,omitempty"`
}

type createAnswer struct {
	ID       string   `json:"Id"`
	Warnings []string `json:"Warnings"`
}

// createContainer creates a container: POST /containers/create.
func (c *client) createContainer(ctx context.Context, spec createSpec) (createAnswer, error) {
	var ans createAnswer
	req := request{method: "POST", path: "/containers/create"}
	if err := c.doJSON(ctx, req, spec, &ans); err != nil {
		return createAnswer{}, fmt.Errorf("create container %q: %w", spec.Name, err)
	}
	return ans, nil
}

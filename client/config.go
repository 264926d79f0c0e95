package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// FunctionConfig is a function's manifest (containerpub.yaml): what it is
// called, how it is built, and the limits it runs under. Zero fields take
// the backend's defaults, which the backend fills in and reports back.
type FunctionConfig struct {
	// Name is the function's name: lowercase letters, digits and dashes.
	Name string `json:"name" yaml:"name"`
	// Runtime selects the build template; "go" is the default.
	Runtime string `json:"runtime,omitempty" yaml:"runtime,omitempty"`
	// Public lets anyone call the function at /f/{name}/ without a token.
	// By default only its owner may call it.
	Public bool `json:"public" yaml:"public"`
	// Network gives the function's instances a network. By default they
	// have none: they reach nothing and nothing reaches them but the
	// backend's calls over a unix socket.
	Network bool `json:"network" yaml:"network"`
	// Env is set in the function's environment.
	Env     map[string]string `json:"env,omitempty" yaml:"env,omitempty"`
	Limits  Limits            `json:"limits" yaml:"limits,omitempty"`
	Scaling Scaling           `json:"scaling" yaml:"scaling,omitempty"`
}

// Limits bound what one instance and one call of a function may use.
type Limits struct {
	// MemoryMB is the memory limit of one instance in MiB.
	MemoryMB int `json:"memory_mb,omitempty" yaml:"memory_mb,omitempty"`
	// CPUs is the CPU time an instance may use, in cores (0.5 is half).
	CPUs float64 `json:"cpus,omitempty" yaml:"cpus,omitempty"`
	// Pids is the number of processes and threads an instance may have.
	Pids int `json:"pids,omitempty" yaml:"pids,omitempty"`
	// OpenFiles is an instance's open file limit.
	OpenFiles int `json:"open_files,omitempty" yaml:"open_files,omitempty"`
	// Timeout is the longest a call may take, end to end.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// MaxRequestKB is the largest request body accepted, in KiB.
	MaxRequestKB int `json:"max_request_kb,omitempty" yaml:"max_request_kb,omitempty"`
	// MaxResponseKB is the largest response body passed back, in KiB.
	MaxResponseKB int `json:"max_response_kb,omitempty" yaml:"max_response_kb,omitempty"`
}

// Scaling sets how many instances of a function run and how calls queue.
type Scaling struct {
	// Concurrency is how many calls one instance serves at once.
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// MinInstances are kept running even when idle.
	MinInstances int `json:"min_instances,omitempty" yaml:"min_instances,omitempty"`
	// MaxInstances caps the instances running at once.
	MaxInstances int `json:"max_instances,omitempty" yaml:"max_instances,omitempty"`
	// IdleTimeout stops an instance that served no call for this long.
	IdleTimeout Duration `json:"idle_timeout,omitempty" yaml:"idle_timeout,omitempty"`
	// MaxQueue is how many calls may wait for a free instance.
	MaxQueue int `json:"max_queue,omitempty" yaml:"max_queue,omitempty"`
	// QueueTimeout is how long a call may wait for a free instance
	// before it is answered 429.
	QueueTimeout Duration `json:"queue_timeout,omitempty" yaml:"queue_timeout,omitempty"`
}

// ParseConfig reads a manifest. Unknown keys are an error, so that a typo
// does not silently fall back to a default.
func ParseConfig(data []byte) (FunctionConfig, error) {
	var c FunctionConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		return FunctionConfig{}, fmt.Errorf("parse %s: %w", ManifestFile, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return FunctionConfig{}, fmt.Errorf("parse %s: more than one YAML document", ManifestFile)
	}
	return c, nil
}

// MarshalConfig writes a manifest.
func MarshalConfig(c FunctionConfig) ([]byte, error) {
	return yaml.Marshal(c)
}

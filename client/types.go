package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// ManifestFile is the name of the function manifest at the root of a
// function's source tree.
const ManifestFile = "containerpub.yaml"

// Runtimes the backend can build.
const (
	// RuntimeGo builds a Go package named function that exports
	// Handle(http.ResponseWriter, *http.Request).
	RuntimeGo = "go"
)

// Function statuses.
const (
	// FunctionNew is a function that has never had a successful deployment.
	FunctionNew = "new"
	// FunctionActive is a function with an active version that answers calls.
	FunctionActive = "active"
	// FunctionFailed is a function whose only deployments failed.
	FunctionFailed = "failed"
	// FunctionDeleting is a function whose resources are being removed.
	FunctionDeleting = "deleting"
)

// Deployment statuses, in the order a deployment moves through them.
const (
	// DeploymentQueued waits for a build worker.
	DeploymentQueued = "queued"
	// DeploymentBuilding is being built into an image.
	DeploymentBuilding = "building"
	// DeploymentActive is the version that answers calls.
	DeploymentActive = "active"
	// DeploymentInactive was built and activated once, and has since been
	// replaced by another version.
	DeploymentInactive = "inactive"
	// DeploymentFailed did not build or did not start.
	DeploymentFailed = "failed"
)

// Execution statuses.
const (
	// ExecutionSuccess is a call the function answered (any HTTP status).
	ExecutionSuccess = "success"
	// ExecutionError is a call the platform could not complete: the instance
	// crashed, ran out of memory, or sent a response over the size limit.
	ExecutionError = "error"
	// ExecutionTimeout is a call stopped at the function's timeout.
	ExecutionTimeout = "timeout"
	// ExecutionRejected is a call refused before it reached the function
	// (queue full, request over the size limit).
	ExecutionRejected = "rejected"
)

// RequestIDHeader carries the id of a call from the caller through the
// gateway to the function and into every record of the call.
const RequestIDHeader = "X-Request-Id"

// ErrorHeader is set on error answers the platform writes itself, so that
// a caller can tell them from a function's own answer of the same status:
// no such function, over capacity, timed out, instance crashed.
const ErrorHeader = "X-Containerpub-Error"

// Error is the body of every error response of the API.
type Error struct {
	// Message says what was wrong, for a person to read.
	Message string `json:"error"`
}

// Credentials register or log in a user.
type Credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Session is the answer to a login or registration.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// User is an account.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateFunctionRequest registers a function name before its first deploy.
type CreateFunctionRequest struct {
	Name string `json:"name"`
}

// Function is a named function and its active version.
type Function struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OwnerID string `json:"owner_id"`
	Status  string `json:"status"`
	// URLPath is where the function answers calls on the backend, for
	// example /f/hello/.
	URLPath string `json:"url_path"`
	// ActiveVersion is the version number answering calls; 0 when none.
	ActiveVersion int `json:"active_version"`
	// ActiveDeploymentID is the id of the active deployment, if any.
	ActiveDeploymentID string `json:"active_deployment_id,omitempty"`
	// SourceHash is the hash of the active version's source tree.
	SourceHash string `json:"source_hash,omitempty"`
	// Config is the active version's configuration, defaults filled in.
	Config    *FunctionConfig `json:"config,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Deployment is one uploaded version of a function and its build.
type Deployment struct {
	ID         string          `json:"id"`
	FunctionID string          `json:"function_id"`
	Version    int             `json:"version"`
	Status     string          `json:"status"`
	SourceHash string          `json:"source_hash"`
	Config     *FunctionConfig `json:"config,omitempty"`
	// Error says why a failed deployment failed.
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Done reports whether the deployment reached a final status.
func (d Deployment) Done() bool {
	switch d.Status {
	case DeploymentActive, DeploymentInactive, DeploymentFailed:
		return true
	}
	return false
}

// Execution is the record of one call of a function.
type Execution struct {
	ID           string     `json:"id"`
	FunctionID   string     `json:"function_id"`
	DeploymentID string     `json:"deployment_id,omitempty"`
	Version      int        `json:"version,omitempty"`
	RequestID    string     `json:"request_id"`
	InstanceID   string     `json:"instance_id,omitempty"`
	Method       string     `json:"method"`
	Path         string     `json:"path"`
	StartedAt    time.Time  `json:"started_at"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
	// DurationMS is the time from the request reaching the backend to the
	// last byte of the response, in milliseconds.
	DurationMS float64 `json:"duration_ms"`
	Status     string  `json:"status"`
	HTTPStatus int     `json:"http_status"`
	// ColdStart is true when the call waited for an instance to start.
	ColdStart     bool   `json:"cold_start"`
	RequestBytes  int64  `json:"request_bytes"`
	ResponseBytes int64  `json:"response_bytes"`
	Error         string `json:"error,omitempty"`
	// Logs is what the function wrote to stdout and stderr during the call.
	Logs string `json:"logs,omitempty"`
}

// LogEntry is one line a function wrote, or one block of lines written
// during one call.
type LogEntry struct {
	Time        time.Time `json:"time"`
	ExecutionID string    `json:"execution_id,omitempty"`
	RequestID   string    `json:"request_id,omitempty"`
	InstanceID  string    `json:"instance_id,omitempty"`
	// Stream is stdout or stderr for a line written outside calls, call
	// for the whole output of one call, or system for the platform's own
	// notes about an instance (exited, out of memory, failed to start).
	Stream string `json:"stream"`
	Text   string `json:"text"`
}

// Duration is a time.Duration written as a Go duration string ("30s")
// in JSON and YAML.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the duration in Go's notation.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as "1m30s".
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// UnmarshalText reads "1m30s"; a bare number is taken as seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if v, err := time.ParseDuration(s); err == nil {
		*d = Duration(v)
		return nil
	}
	var secs float64
	if _, err := fmt.Sscanf(s, "%g", &secs); err == nil && fmt.Sprint(secs) == s {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	return fmt.Errorf("invalid duration %q: want a number and unit such as 30s or 5m", s)
}

// UnmarshalJSON accepts a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return d.UnmarshalText([]byte(s))
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("invalid duration %s: want a string such as \"30s\"", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

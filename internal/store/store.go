// Package store defines the metadata store: users, sessions, functions,
// deployments, executions and logs. Two implementations exist, SQLite
// (internal/store/sqlite, the zero-setup default) and PostgreSQL
// (internal/store/postgres); both pass the suite in internal/store/storetest.
// The backend picks one from its database URL in internal/server.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Implementations wrap them; callers test with errors.Is.
var (
	// ErrNotFound is returned when the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a row would break a uniqueness rule,
	// such as a second user with the same email.
	ErrConflict = errors.New("conflict")
)

// User is an account.
type User struct {
	ID           string
	Email        string
	PasswordHash string
	CreatedAt    time.Time
}

// Token is a bearer token. Only a hash of the secret is stored.
type Token struct {
	// Hash is the SHA-256 of the token's secret, hex encoded.
	Hash      string
	UserID    string
	Kind      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Token kinds.
const (
	// TokenSession is issued by login and register.
	TokenSession = "session"
)

// Function is a named function. Its code and configuration live in its
// deployments; ActiveDeploymentID names the one that answers calls.
type Function struct {
	ID                 string
	Name               string
	OwnerID            string
	Status             string
	ActiveDeploymentID string
	// Metadata is free-form JSON for later use; "{}" when empty.
	Metadata  json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Deployment is one immutable version of a function.
type Deployment struct {
	ID         string
	FunctionID string
	// Version numbers a function's deployments from 1, assigned by the store.
	Version    int
	Status     string
	Runtime    string
	SourceHash string
	// ArchiveKey names the uploaded archive in storage.
	ArchiveKey string
	// ImageRef names the built image; empty until the build succeeds.
	ImageRef string
	// Config is the function configuration (client.FunctionConfig) as JSON.
	Config   json.RawMessage
	BuildLog string
	Error    string
	// ClaimedBy is the id of the backend building it.
	ClaimedBy  string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Execution is the record of one call.
type Execution struct {
	ID            string
	FunctionID    string
	DeploymentID  string
	RequestID     string
	InstanceID    string
	Method        string
	Path          string
	StartedAt     time.Time
	CompletedAt   *time.Time
	DurationMS    float64
	Status        string
	HTTPStatus    int
	ColdStart     bool
	RequestBytes  int64
	ResponseBytes int64
	Error         string
	// Logs holds what the function printed during the call.
	Logs string
	// Result is a JSON summary of the outcome; "{}" when empty.
	Result json.RawMessage
}

// LogLine is output of a function instance that belongs to no single call:
// start-up messages, output between calls, and the platform's notes on an
// instance (stream "system").
type LogLine struct {
	// ID orders lines; assigned by the store, increasing.
	ID         int64
	FunctionID string
	InstanceID string
	Stream     string
	Time       time.Time
	Text       string
}

// ExecutionQuery selects executions of one function, newest first.
type ExecutionQuery struct {
	FunctionID string
	// Before, when set, returns only executions started before it.
	Before time.Time
	// Limit caps the result; 0 means 100.
	Limit int
}

// LogQuery selects log lines of one function in ID order.
type LogQuery struct {
	FunctionID string
	// AfterID returns lines with a greater ID.
	AfterID int64
	// Since, when set, returns lines written at or after it.
	Since time.Time
	// Limit caps the result; 0 means 1000.
	Limit int
	// Tail returns the last Limit matching lines instead of the first,
	// still in ID order.
	Tail bool
}

// Store is the metadata store. Implementations are safe for concurrent use
// by many goroutines and by several backends sharing one database, honour
// context cancellation, and return errors wrapping ErrNotFound or
// ErrConflict where the doc says so.
type Store interface {
	// CreateUser inserts u; ErrConflict when the email is taken.
	CreateUser(ctx context.Context, u User) error
	// UserByEmail returns the user with that email or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UserByID returns the user or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)

	// CreateToken stores a token.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the token with that hash or ErrNotFound. An
	// expired token is still returned; the caller checks ExpiresAt.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// DeleteToken removes a token; ErrNotFound when there was none.
	DeleteToken(ctx context.Context, hash string) error
	// DeleteExpiredTokens removes tokens that expired before now and
	// returns how many.
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error)

	// CreateFunction inserts f; ErrConflict when the name is taken.
	CreateFunction(ctx context.Context, f Function) error
	// FunctionByID returns the function or ErrNotFound.
	FunctionByID(ctx context.Context, id string) (Function, error)
	// FunctionByName returns the function or ErrNotFound.
	FunctionByName(ctx context.Context, name string) (Function, error)
	// ListFunctions returns the functions of an owner ordered by name.
	ListFunctions(ctx context.Context, ownerID string) ([]Function, error)
	// ListAllFunctions returns every function ordered by name, for the
	// backend's own housekeeping.
	ListAllFunctions(ctx context.Context) ([]Function, error)
	// SetFunctionStatus changes a function's status; ErrNotFound if gone.
	SetFunctionStatus(ctx context.Context, id, status string) error
	// DeleteFunction removes a function with its deployments, executions
	// and log lines in one transaction; ErrNotFound if it was not there.
	DeleteFunction(ctx context.Context, id string) error

	// CreateDeployment inserts d with the next version number of its
	// function, which it returns with the stored row. ErrNotFound when
	// the function does not exist.
	CreateDeployment(ctx context.Context, d Deployment) (Deployment, error)
	// DeploymentByID returns the deployment or ErrNotFound.
	DeploymentByID(ctx context.Context, id string) (Deployment, error)
	// DeploymentByVersion returns a function's deployment by version
	// number or ErrNotFound.
	DeploymentByVersion(ctx context.Context, functionID string, version int) (Deployment, error)
	// ListDeployments returns a function's deployments, newest first.
	ListDeployments(ctx context.Context, functionID string) ([]Deployment, error)
	// ClaimDeployment marks the oldest queued deployment as building by
	// backendID and returns it; ErrNotFound when none is queued. Two
	// callers never claim the same deployment.
	ClaimDeployment(ctx context.Context, backendID string, now time.Time) (Deployment, error)
	// RequeueDeployments puts deployments building for backendID, or
	// building by anyone since before staleBefore, back in the queue, and
	// returns how many.
	RequeueDeployments(ctx context.Context, backendID string, staleBefore time.Time) (int64, error)
	// AppendBuildLog appends text to a deployment's build log.
	AppendBuildLog(ctx context.Context, id, text string) error
	// FailDeployment marks a deployment failed with the reason. If the
	// function has no active deployment its status becomes failed.
	FailDeployment(ctx context.Context, id, reason string, now time.Time) error
	// SetDeploymentImage records the built image of a deployment.
	SetDeploymentImage(ctx context.Context, id, imageRef string) error
	// ActivateDeployment makes a deployment the function's active one in
	// one transaction: the previous active deployment becomes inactive,
	// the function becomes active. ErrNotFound if either is gone.
	ActivateDeployment(ctx context.Context, functionID, deploymentID string, now time.Time) error

	// InsertExecutions stores a batch of execution records in one
	// transaction. A record whose function is gone is dropped.
	InsertExecutions(ctx context.Context, es []Execution) error
	// ExecutionByID returns the execution or ErrNotFound.
	ExecutionByID(ctx context.Context, id string) (Execution, error)
	// ListExecutions returns executions newest first.
	ListExecutions(ctx context.Context, q ExecutionQuery) ([]Execution, error)

	// InsertLogLines stores a batch of log lines. Lines whose function is
	// gone are dropped.
	InsertLogLines(ctx context.Context, lines []LogLine) error
	// ListLogLines returns log lines in ID order.
	ListLogLines(ctx context.Context, q LogQuery) ([]LogLine, error)

	// Setting returns a value stored by PutSettingIfAbsent, or ErrNotFound.
	Setting(ctx context.Context, key string) (string, error)
	// PutSettingIfAbsent stores value under key unless the key exists, and
	// returns the value stored, so several backends agree on one value.
	PutSettingIfAbsent(ctx context.Context, key, value string) (string, error)

	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// CleanText makes output storable in a text column of either database:
// invalid UTF-8 and NUL bytes, which PostgreSQL refuses, become U+FFFD.
func CleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ExecutionQuery selects the executions ListExecutions returns.
type ExecutionQuery struct {
	// Limit caps the number returned; 0 takes the server's default.
	Limit int
	// Before returns only executions started before it; zero for the
	// newest. Passing the StartedAt of the last one returned pages back.
	Before time.Time
}

// LogQuery selects the log entries Logs returns.
type LogQuery struct {
	// Since returns only entries written at or after it; zero for all.
	Since time.Time
	// Limit caps the number returned; 0 takes the server's default.
	Limit int
}

// ListExecutions returns the calls of fn, newest first.
func (c *Client) ListExecutions(ctx context.Context, fn string, q ExecutionQuery) ([]Execution, error) {
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if !q.Before.IsZero() {
		v.Set("before", q.Before.UTC().Format(time.RFC3339Nano))
	}
	var es []Execution
	err := c.doJSON(ctx, http.MethodGet,
		withQuery(c.path("api", "functions", fn, "executions"), v), nil, &es)
	return es, err
}

// GetExecution returns one call of fn with the output it wrote.
func (c *Client) GetExecution(ctx context.Context, fn, id string) (Execution, error) {
	var e Execution
	err := c.doJSON(ctx, http.MethodGet,
		c.path("api", "functions", fn, "executions", id), nil, &e)
	return e, err
}

// Logs returns the output of fn in time order.
func (c *Client) Logs(ctx context.Context, fn string, q LogQuery) ([]LogEntry, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var ls []LogEntry
	err := c.doJSON(ctx, http.MethodGet,
		withQuery(c.path("api", "functions", fn, "logs"), v), nil, &ls)
	return ls, err
}

// withQuery appends an encoded query to u when there is one.
func withQuery(u string, v url.Values) string {
	if len(v) == 0 {
		return u
	}
	return u + "?" + v.Encode()
}

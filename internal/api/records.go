package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/gateway"
	"github.com/containerpub/containerpub/internal/store"
)

// invoke calls the function at / with the request's body and headers, as
// the original platform's invoke route did, but returns the function's
// real status, headers and body.
func (a *API) invoke(w http.ResponseWriter, r *http.Request, userID string) error {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return err
	}
	t, err := a.deploys.Resolve(r.Context(), fn.Name)
	if errors.Is(err, gateway.ErrNotFound) {
		return errorf(http.StatusNotFound, "function %s has no active version: deploy it first", fn.Name)
	}
	if err != nil {
		return err
	}
	a.gw.Call(w, r, t, "/", true)
	return nil
}

// Listing limits.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

func queryLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, errorf(http.StatusBadRequest, "limit %q: want a number from 1 to %d", s, maxLimit)
	}
	return n, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "%s %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", name, s)
	}
	return t, nil
}

func (a *API) listExecutions(w http.ResponseWriter, r *http.Request, userID string) error {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	before, err := queryTime(r, "before")
	if err != nil {
		return err
	}
	es, err := a.st.ListExecutions(r.Context(), store.ExecutionQuery{FunctionID: fn.ID, Before: before, Limit: limit})
	if err != nil {
		return err
	}
	versions, err := a.versions(r, fn.ID)
	if err != nil {
		return err
	}
	out := make([]client.Execution, 0, len(es))
	for _, e := range es {
		out = append(out, executionJSON(e, versions))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getExecution(w http.ResponseWriter, r *http.Request, userID string) error {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return err
	}
	e, err := a.st.ExecutionByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && e.FunctionID != fn.ID) {
		return errorf(http.StatusNotFound, "no execution %q of function %s", r.PathValue("id"), fn.Name)
	}
	if err != nil {
		return err
	}
	versions, err := a.versions(r, fn.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, executionJSON(e, versions))
	return nil
}

// versions maps a function's deployment ids to version numbers.
func (a *API) versions(r *http.Request, functionID string) (map[string]int, error) {
	ds, err := a.st.ListDeployments(r.Context(), functionID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]int, len(ds))
	for _, d := range ds {
		m[d.ID] = d.Version
	}
	return m, nil
}

// logs merges the output of calls with the lines written outside calls,
// in time order, over the last hour unless since says otherwise.
func (a *API) logs(w http.ResponseWriter, r *http.Request, userID string) error {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	since, err := queryTime(r, "since")
	if err != nil {
		return err
	}
	if since.IsZero() {
		since = a.now().Add(-time.Hour)
	}
	lines, err := a.st.ListLogLines(r.Context(), store.LogQuery{FunctionID: fn.ID, Since: since, Limit: limit, Tail: true})
	if err != nil {
		return err
	}
	es, err := a.st.ListExecutions(r.Context(), store.ExecutionQuery{FunctionID: fn.ID, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]client.LogEntry, 0, len(lines)+len(es))
	for _, l := range lines {
		out = append(out, client.LogEntry{Time: l.Time, InstanceID: l.InstanceID, Stream: l.Stream, Text: l.Text})
	}
	for _, e := range es {
		if e.Logs == "" || e.StartedAt.Before(since) {
			continue
		}
		out = append(out, client.LogEntry{
			Time: e.StartedAt, ExecutionID: e.ID, RequestID: e.RequestID,
			InstanceID: e.InstanceID, Stream: "call", Text: e.Logs,
		})
	}
	slices.SortStableFunc(out, func(x, y client.LogEntry) int { return x.Time.Compare(y.Time) })
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func executionJSON(e store.Execution, versions map[string]int) client.Execution {
	return client.Execution{
		ID:            e.ID,
		FunctionID:    e.FunctionID,
		DeploymentID:  e.DeploymentID,
		Version:       versions[e.DeploymentID],
		RequestID:     e.RequestID,
		InstanceID:    e.InstanceID,
		Method:        e.Method,
		Path:          e.Path,
		StartedAt:     e.StartedAt,
		CompletedAt:   e.CompletedAt,
		DurationMS:    e.DurationMS,
		Status:        e.Status,
		HTTPStatus:    e.HTTPStatus,
		ColdStart:     e.ColdStart,
		RequestBytes:  e.RequestBytes,
		ResponseBytes: e.ResponseBytes,
		Error:         e.Error,
		Logs:          e.Logs,
	}
}

package api

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/deploy"
	"github.com/containerpub/containerpub/internal/store"
)

func (a *API) upload(w http.ResponseWriter, r *http.Request, userID string) error {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return err
	}
	if fn.Status == client.FunctionDeleting {
		return errorf(http.StatusConflict, "function %s is being deleted", fn.Name)
	}
	if !a.userUploads.acquire(userID) {
		w.Header().Set("Retry-After", "5")
		return errorf(http.StatusTooManyRequests,
			"you have %d uploads in progress already; try again when one is done", maxUserUploads)
	}
	defer a.userUploads.release(userID)
	select {
	case a.uploads <- struct{}{}:
		defer func() { <-a.uploads }()
	default:
		w.Header().Set("Retry-After", "5")
		return errorf(http.StatusTooManyRequests, "too many uploads in progress; try again in a few seconds")
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTimeout)) // best effort
	d, err := a.deploys.Upload(r.Context(), fn, r.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, deploymentJSON(d))
	return nil
}

func (a *API) listDeployments(w http.ResponseWriter, r *http.Request, userID string) error {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return err
	}
	ds, err := a.st.ListDeployments(r.Context(), fn.ID)
	if err != nil {
		return err
	}
	out := make([]client.Deployment, 0, len(ds))
	for _, d := range ds {
		out = append(out, deploymentJSON(d))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ownDeployment loads the {version} of the route's function.
func (a *API) ownDeployment(r *http.Request, userID string) (store.Deployment, error) {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return store.Deployment{}, err
	}
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		return store.Deployment{}, errorf(http.StatusBadRequest, "version %q is not a positive number", r.PathValue("version"))
	}
	d, err := a.st.DeploymentByVersion(r.Context(), fn.ID, v)
	if err != nil {
		return d, err
	}
	return d, nil
}

func (a *API) getDeployment(w http.ResponseWriter, r *http.Request, userID string) error {
	d, err := a.ownDeployment(r, userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deploymentJSON(d))
	return nil
}

// buildLogPoll is how often a followed build log is read again.
const buildLogPoll = 300 * time.Millisecond

// buildLog sends a deployment's build log; with follow=1 it streams what
// the build writes until the deployment is done. It reads the database,
// so any backend can serve a build another one runs.
func (a *API) buildLog(w http.ResponseWriter, r *http.Request, userID string) error {
	d, err := a.ownDeployment(r, userID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	follow := r.URL.Query().Get("follow") == "1" || r.URL.Query().Get("follow") == "true"
	if !follow {
		_, _ = io.WriteString(w, d.BuildLog)
		return nil
	}
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	sent := 0
	t := time.NewTicker(buildLogPoll)
	defer t.Stop()
	for {
		if len(d.BuildLog) > sent {
			if _, err := io.WriteString(w, d.BuildLog[sent:]); err != nil {
				return nil // the client went away
			}
			sent = len(d.BuildLog)
		}
		_ = rc.Flush()
		if deploymentJSON(d).Done() {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-t.C:
		}
		if d, err = a.st.DeploymentByID(r.Context(), d.ID); err != nil {
			a.log.Warn("follow build log", "deployment", d.ID, "error", err)
			return nil // headers are sent; the client sees the log end
		}
	}
}

func deploymentJSON(d store.Deployment) client.Deployment {
	out := client.Deployment{
		ID:         d.ID,
		FunctionID: d.FunctionID,
		Version:    d.Version,
		Status:     d.Status,
		SourceHash: d.SourceHash,
		Error:      d.Error,
		CreatedAt:  d.CreatedAt,
		StartedAt:  d.StartedAt,
		FinishedAt: d.FinishedAt,
	}
	if cfg, err := deploy.Config(d); err == nil {
		out.Config = &cfg
	}
	return out
}

// userCounter counts what each user has in progress, up to a limit.
type userCounter struct {
	limit int
	mu    sync.Mutex
	n     map[string]int
}

func newUserCounter(limit int) *userCounter {
	return &userCounter{limit: limit, n: make(map[string]int)}
}

// acquire counts one more for user, or reports false at the limit.
func (c *userCounter) acquire(user string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[user] >= c.limit {
		return false
	}
	c.n[user]++
	return true
}

func (c *userCounter) release(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[user]--; c.n[user] <= 0 {
		delete(c.n, user)
	}
}

package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/deploy"
	"github.com/containerpub/containerpub/internal/store"
)

// ownFunction loads the {fn} of the route, by id or name, if userID owns
// it. Another user's function is not found, as if it did not exist.
func (a *API) ownFunction(r *http.Request, userID string) (store.Function, error) {
	key := r.PathValue("fn")
	var fn store.Function
	var err error
	if _, perr := uuid.Parse(key); perr == nil {
		fn, err = a.st.FunctionByID(r.Context(), key)
	} else {
		fn, err = a.st.FunctionByName(r.Context(), key)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && fn.OwnerID != userID) {
		return store.Function{}, errorf(http.StatusNotFound, "no function %q", key)
	}
	return fn, err
}

func (a *API) listFunctions(w http.ResponseWriter, r *http.Request, userID string) error {
	fns, err := a.st.ListFunctions(r.Context(), userID)
	if err != nil {
		return err
	}
	out := make([]client.Function, 0, len(fns))
	for _, fn := range fns {
		f, err := a.functionJSON(r.Context(), fn)
		if err != nil {
			return err
		}
		out = append(out, f)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createFunction(w http.ResponseWriter, r *http.Request, userID string) error {
	var req client.CreateFunctionRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	fn, err := a.deploys.CreateFunction(r.Context(), userID, req.Name)
	if err != nil {
		return err
	}
	f, err := a.functionJSON(r.Context(), fn)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, f)
	return nil
}

func (a *API) getFunction(w http.ResponseWriter, r *http.Request, userID string) error {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return err
	}
	f, err := a.functionJSON(r.Context(), fn)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (a *API) deleteFunction(w http.ResponseWriter, r *http.Request, userID string) error {
	fn, err := a.ownFunction(r, userID)
	if err != nil {
		return err
	}
	// Deleting goes on if the client hangs up, so nothing is left half done.
	if err := a.deploys.Delete(context.WithoutCancel(r.Context()), fn); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// functionJSON describes a function with its active version.
func (a *API) functionJSON(ctx context.Context, fn store.Function) (client.Function, error) {
	f := client.Function{
		ID:                 fn.ID,
		Name:               fn.Name,
		OwnerID:            fn.OwnerID,
		Status:             fn.Status,
		URLPath:            "/f/" + fn.Name + "/",
		ActiveDeploymentID: fn.ActiveDeploymentID,
		CreatedAt:          fn.CreatedAt,
		UpdatedAt:          fn.UpdatedAt,
	}
	if fn.ActiveDeploymentID == "" {
		return f, nil
	}
	d, err := a.st.DeploymentByID(ctx, fn.ActiveDeploymentID)
	if errors.Is(err, store.ErrNotFound) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	cfg, err := deploy.Config(d)
	if err != nil {
		return f, err
	}
	f.ActiveVersion = d.Version
	f.SourceHash = d.SourceHash
	f.Config = &cfg
	return f, nil
}

package client

import (
	"context"
	"net/http"
)

// ListFunctions returns the caller's functions.
func (c *Client) ListFunctions(ctx context.Context) ([]Function, error) {
	var fns []Function
	err := c.doJSON(ctx, http.MethodGet, c.path("api", "functions"), nil, &fns)
	return fns, err
}

// CreateFunction registers a function name. A taken name is an
// *APIError for which IsConflict is true.
func (c *Client) CreateFunction(ctx context.Context, req CreateFunctionRequest) (Function, error) {
	var fn Function
	err := c.doJSON(ctx, http.MethodPost, c.path("api", "functions"), req, &fn)
	return fn, err
}

// GetFunction returns the function whose id or name is fn.
func (c *Client) GetFunction(ctx context.Context, fn string) (Function, error) {
	var f Function
	err := c.doJSON(ctx, http.MethodGet, c.path("api", "functions", fn), nil, &f)
	return f, err
}

// DeleteFunction removes a function with all its versions, containers and
// records. It returns once the backend has removed them.
func (c *Client) DeleteFunction(ctx context.Context, fn string) error {
	return c.doJSON(ctx, http.MethodDelete, c.path("api", "functions", fn), nil, nil)
}

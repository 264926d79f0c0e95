package podman

import (
	"context"
	"fmt"
	"net/http"
)

// initContainer prepares a created container (storage mounted, OCI
// runtime container created, conmon running) without starting its
// process: POST /containers/{id}/init. An already initialised container
// answers 304, which is not an error.
func (c *client) initContainer(ctx context.Context, id string) error {
	req := request{method: "POST", path: "/containers/" + id + "/init"}
	resp, err := c.do(ctx, req, http.StatusNotModified)
	if err != nil {
		return fmt.Errorf("init container %q: %w", id, err)
	}
	closeBody(resp)
	return nil
}

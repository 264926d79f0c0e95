package podman

import (
	"context"
	"fmt"
	"net/http"
)

// startContainer starts a container's process: POST
// /containers/{id}/start. A running container answers 304, which is not
// an error.
func (c *client) startContainer(ctx context.Context, id string) error {
	req := request{method: "POST", path: "/containers/" + id + "/start"}
	resp, err := c.do(ctx, req, http.StatusNotModified)
	if err != nil {
		return fmt.Errorf("start container %q: %w", id, err)
	}
	closeBody(resp)
	return nil
}

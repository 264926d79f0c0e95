package podman

import (
	"context"
	"fmt"
	"net/url"
)

// deleteContainer removes a container, killing it at once if it runs:
// DELETE /containers/{id}?force=true&timeout=0.
func (c *client) deleteContainer(ctx context.Context, id string) error {
	req := request{
		method: "DELETE",
		path:   "/containers/" + id,
		query:  url.Values{"force": {"true"}, "timeout": {"0"}},
	}
	if err := c.doJSON(ctx, req, nil, nil); err != nil {
		return fmt.Errorf("delete container %q: %w", id, err)
	}
	return nil
}

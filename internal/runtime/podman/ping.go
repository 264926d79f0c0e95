package podman

import (
	"context"
	"fmt"
)

// ping checks that the service answers: GET /_ping.
func (c *client) ping(ctx context.Context) error {
	if err := c.doJSON(ctx, request{method: "GET", path: "/_ping"}, nil, nil); err != nil {
		return fmt.Errorf("ping podman: %w", err)
	}
	return nil
}

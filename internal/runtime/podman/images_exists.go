package podman

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerpub/containerpub/internal/runtime"
)

// imageExists reports whether an image is in local storage: GET
// /images/{name}/exists answers 204 or 404.
func (c *client) imageExists(ctx context.Context, ref string) (bool, error) {
	req := request{method: "GET", path: "/images/" + ref + "/exists"}
	err := c.doJSON(ctx, req, nil, nil)
	if errors.Is(err, runtime.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check image %q: %w", ref, err)
	}
	return true, nil
}

package podman

import (
	"context"
	"fmt"
)

// deleteImage removes an image: DELETE /images/{name}. It does not force:
// with force Podman would also remove the containers using the image, and
// an image in use must fail instead (409).
func (c *client) deleteImage(ctx context.Context, ref string) error {
	req := request{method: "DELETE", path: "/images/" + ref}
	if err := c.doJSON(ctx, req, nil, nil); err != nil {
		return fmt.Errorf("delete image %q: %w", ref, err)
	}
	return nil
}

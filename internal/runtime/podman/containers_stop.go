package podman

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// stopContainer sends the stop signal and kills the container after
// timeoutSec seconds: POST /containers/{id}/stop?timeout=N. The call
// returns once the process is gone. A stopped container answers 304,
// which is not an error.
func (c *client) stopContainer(ctx context.Context, id string, timeoutSec uint) error {
	req := request{
		method: "POST",
		path:   "/containers/" + id + "/stop",
		query:  url.Values{"timeout": {strconv.FormatUint(uint64(timeoutSec), 10)}},
	}
	resp, err := c.do(ctx, req, http.StatusNotModified)
	if err != nil {
		return fmt.Errorf("stop container %q: %w", id, err)
	}
	closeBody(resp)
	return nil
}

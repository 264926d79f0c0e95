package podman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// attachContainer opens the container's output stream: POST
// /containers/{id}/attach?stream=true&stdout=true&stderr=true, upgraded to
// a raw connection. The stream carries multiplexed frames (see demux) and
// ends when the container's process exits. Closing the returned stream
// ends the attachment without touching the container.
func (c *client) attachContainer(ctx context.Context, id string) (io.ReadCloser, error) {
	req := request{
		method: "POST",
		path:   "/containers/" + id + "/attach",
		query: url.Values{
			"stream": {"true"},
			"stdout": {"true"},
			"stderr": {"true"},
		},
		header: http.Header{
			"Connection": {"Upgrade"},
			"Upgrade":    {"tcp"},
		},
	}
	resp, err := c.do(ctx, req, http.StatusSwitchingProtocols)
	if err != nil {
		return nil, fmt.Errorf("attach container %q: %w", id, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		closeBody(resp)
		return nil, fmt.Errorf("attach container %q: %w", id, errNotUpgraded)
	}
	// On a 101 answer net/http hands over the connection as the body.
	return resp.Body, nil
}

// errNotUpgraded is an attach answer without the switch to a raw stream.
var errNotUpgraded = errors.New("podman did not upgrade the connection")

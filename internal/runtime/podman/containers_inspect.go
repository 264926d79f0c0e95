package podman

import (
	"context"
	"fmt"
	"time"
)

// inspectAnswer is the part of a container's inspect document the
// driver reads.
type inspectAnswer struct {
	ID     string `json:"Id"`
	Name   string `json:"Name"`
	Config struct {
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
	State inspectState `json:"State"`
}

type inspectState struct {
	Status     string    `json:"Status"`
	Running    bool      `json:"Running"`
	OOMKilled  bool      `json:"OOMKilled"`
	ExitCode   int       `json:"ExitCode"`
	Error      string    `json:"Error"`
	StartedAt  time.Time `json:"StartedAt"`
	FinishedAt time.Time `json:"FinishedAt"`
}

// inspectContainer reads a container's configuration and state: GET
// /containers/{id}/json.
func (c *client) inspectContainer(ctx context.Context, id string) (inspectAnswer, error) {
	var ans inspectAnswer
	req := request{method: "GET", path: "/containers/" + id + "/json"}
	if err := c.doJSON(ctx, req, nil, &ans); err != nil {
		return inspectAnswer{}, fmt.Errorf("inspect container %q: %w", id, err)
	}
	return ans, nil
}

package podman

import (
	"context"
	"fmt"
	"net/url"
)

// statsEntry is one container's reading in a stats answer.
type statsEntry struct {
	ContainerID string `json:"ContainerID"`
	// CPUNano is the CPU time used since start, in nanoseconds.
	CPUNano  uint64 `json:"CPUNano"`
	MemUsage uint64 `json:"MemUsage"`
	MemLimit uint64 `json:"MemLimit"`
	PIDs     uint64 `json:"PIDs"`
}

// statsAnswer is the body of a one-shot stats call. Podman reports a
// failure (a missing container, say) with a 200 and a non-null Error that
// it serialises as {}, losing the message; Stats is then empty.
type statsAnswer struct {
	Error *struct{}    `json:"Error"`
	Stats []statsEntry `json:"Stats"`
}

// containerStats reads one resource sample: GET
// /containers/stats?containers={id}&stream=false. It answers ok=false
// when Podman reported no reading for the container.
func (c *client) containerStats(ctx context.Context, id string) (s statsEntry, ok bool, err error) {
	var ans statsAnswer
	req := request{
		method: "GET",
		path:   "/containers/stats",
		query:  url.Values{"containers": {id}, "stream": {"false"}},
	}
	if err := c.doJSON(ctx, req, nil, &ans); err != nil {
		return statsEntry{}, false, fmt.Errorf("stats of container %q: %w", id, err)
	}
	if ans.Error != nil || len(ans.Stats) == 0 {
		return statsEntry{}, false, nil
	}
	return ans.Stats[0], true, nil
}

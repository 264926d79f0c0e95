package podman

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
)

// listEntry is one container of a list answer.
type listEntry struct {
	ID     string            `json:"Id"`
	Names  []string          `json:"Names"`
	Labels map[string]string `json:"Labels"`
	State  string            `json:"State"`
}

// listContainers lists every container, running or not, that carries all
// the labels: GET /containers/json?all=true&filters={"label":[...]}.
func (c *client) listContainers(ctx context.Context, labels map[string]string) ([]listEntry, error) {
	query := url.Values{"all": {"true"}}
	if len(labels) > 0 {
		filters, err := json.Marshal(map[string][]string{"label": labelFilters(labels)})
		if err != nil {
			return nil, fmt.Errorf("encode label filter: %w", err)
		}
		query.Set("filters", string(filters))
	}
	var ans []listEntry
	req := request{method: "GET", path: "/containers/json", query: query}
	if err := c.doJSON(ctx, req, nil, &ans); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return ans, nil
}

// labelFilters writes labels as key=value filters, sorted so that the
// request is the same for the same labels.
func labelFilters(labels map[string]string) []string {
	out := make([]string, 0, len(labels))
	for k, v := range labels {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

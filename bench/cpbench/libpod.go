package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// libpod reads what the runtime driver does not expose: the host process
// ids behind a container, which the memory figures need. It speaks the
// libpod REST API over the backend's Podman socket.
type libpod struct {
	http *http.Client
}

func newLibpod(socket string) *libpod {
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
	}
	return &libpod{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// containerPIDs are the host processes of one container.
type containerPIDs struct {
	// Status is Podman's own state name: created, initialized, running...
	Status string
	// Pid is the container's first process: the function while it runs,
	// `runc init` waiting to exec it while the container is initialised
	// but not started, 0 before that.
	Pid int
	// ConmonPid is the container's monitor process.
	ConmonPid int
}

// maxInspectBytes bounds an inspect answer; real ones are about 10 KB.
const maxInspectBytes = 4 << 20

// inspectPIDs reads a container's process ids:
// GET /v4.0.0/libpod/containers/{id}/json.
func (l *libpod) inspectPIDs(ctx context.Context, id string) (containerPIDs, error) {
	u := "http://podman/v4.0.0/libpod/containers/" + url.PathEscape(id) + "/json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return containerPIDs{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return containerPIDs{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	defer func() { _ = resp.Body.Close() }() // read whole or given up on below
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInspectBytes))
	if err != nil {
		return containerPIDs{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	if resp.StatusCode != http.StatusOK {
		return containerPIDs{}, fmt.Errorf("inspect %s: status %d: %.200s", id, resp.StatusCode, body)
	}
	return parseInspectPIDs(body)
}

// parseInspectPIDs reads the State of a libpod inspect answer.
func parseInspectPIDs(body []byte) (containerPIDs, error) {
	var ans struct {
		State *struct {
			Status    string `json:"Status"`
			Pid       int    `json:"Pid"`
			ConmonPid int    `json:"ConmonPid"`
		} `json:"State"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return containerPIDs{}, fmt.Errorf("parse inspect answer: %w", err)
	}
	if ans.State == nil {
		return containerPIDs{}, fmt.Errorf("parse inspect answer: %w", errNoState)
	}
	s := ans.State
	if s.Pid < 0 || s.ConmonPid < 0 {
		return containerPIDs{}, fmt.Errorf("parse inspect answer: pid %d, conmon pid %d: %w",
			s.Pid, s.ConmonPid, errBadPID)
	}
	return containerPIDs{Status: s.Status, Pid: s.Pid, ConmonPid: s.ConmonPid}, nil
}

func (l *libpod) close() { l.http.CloseIdleConnections() }

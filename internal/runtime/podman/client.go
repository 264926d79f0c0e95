// Package podman is the runtime driver for Podman. It speaks the libpod
// REST API over Podman's unix socket through a small hand-written client
// (one file per endpoint), so that the backend needs neither the podman
// command line nor Podman's own Go modules.
package podman

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// apiPrefix is the libpod API version every path is sent under. Podman
// 4.x serves it unchanged, so the driver pins the oldest version whose
// shape it relies on.
const apiPrefix = "/v4.0.0/libpod"

// maxErrorBody bounds how much of an error answer is read, so a broken
// server cannot make the backend buffer without limit.
const maxErrorBody = 64 << 10

// client is a libpod API client over a unix socket. It is safe for
// concurrent use.
type client struct {
	http *http.Client
}

// newClient returns a client for the socket at path. The transport keeps
// connections alive between calls; there is no overall timeout because
// some calls (build, attach, stop with a long grace) last as long as their
// context allows.
func newClient(path string) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", path)
		},
		MaxIdleConns:        32,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		// Compression buys nothing over a local socket.
		DisableCompression: true,
	}
	return &client{http: &http.Client{Transport: transport}}
}

// close drops the idle connections to the socket.
func (c *client) close() {
	c.http.CloseIdleConnections()
}

// apiError is a non-2xx answer of the API. Libpod writes errors as JSON
// {"cause", "message", "response"}.
type apiError struct {
	Status  int    `json:"response"`
	Cause   string `json:"cause"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("podman api status %d", e.Status)
}

// causeImageNotKnown is the cause Podman gives, with a 500, when a
// container is created from an image it does not have.
const causeImageNotKnown = "image not known"

// causeNoSuchContainer is the cause Podman gives, sometimes with a 500,
// when a container went away while it worked on it: removed by another
// caller at the same time, for example.
const causeNoSuchContainer = "no such container"

// Unwrap makes a 404, a create from a missing image, or a container gone
// under Podman's feet match runtime.ErrNotFound.
func (e *apiError) Unwrap() error {
	if e.Status == http.StatusNotFound || e.Cause == causeImageNotKnown || e.Cause == causeNoSuchContainer {
		return runtime.ErrNotFound
	}
	return nil
}

// request describes one API call.
type request struct {
	method string
	// path is below apiPrefix, for example "/containers/x/json".
	path  string
	query url.Values
	// body is sent as is; contentType names its type.
	body        io.Reader
	contentType string
	header      http.Header
}

// do sends req and returns the answer when its status is 2xx or one of
// okStatus. Any other status is read into an *apiError and the body is
// closed. The caller closes the body of a returned answer.
func (c *client) do(ctx context.Context, req request, okStatus ...int) (*http.Response, error) {
	u := url.URL{Scheme: "http", Host: "podman", Path: apiPrefix + req.path}
	if len(req.query) > 0 {
		u.RawQuery = req.query.Encode()
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, u.String(), req.body)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	for k, v := range req.header {
		hreq.Header[k] = v
	}
	if req.contentType != "" {
		hreq.Header.Set("Content-Type", req.contentType)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 || containsInt(okStatus, resp.StatusCode) {
		return resp, nil
	}
	apiErr := readAPIError(resp)
	closeBody(resp)
	return nil, apiErr
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// readAPIError turns an error answer into an *apiError, keeping the raw
// text when the body is not libpod's JSON.
func readAPIError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return parseAPIError(resp.StatusCode, body)
}

// parseAPIError reads an error body. It never fails: whatever the body
// holds, the status is kept so that errors.Is still works.
func parseAPIError(status int, body []byte) *apiError {
	e := &apiError{}
	if json.Unmarshal(body, e) != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
	}
	e.Status = status
	return e
}

// doJSON sends req with in (if not nil) as a JSON body and decodes a 2xx
// JSON answer into out (if not nil).
func (c *client) doJSON(ctx context.Context, req request, in, out any) error {
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		req.body = bytes.NewReader(b)
		req.contentType = "application/json"
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	defer closeBody(resp)
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// closeBody drains what is left of an answer, up to a bound, so that its
// connection can serve the next call, and closes it. Errors are dropped:
// the answer has been read, and a broken connection is not reused.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
}

// Package client is the public Go client of the ContainerPub HTTP API
// (docs/API.md) and holds the wire types both sides share. The dart_cloud
// CLI talks to the backend only through this package.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultUserAgent is sent when no WithUserAgent option is given.
const DefaultUserAgent = "containerpub-client/1"

// Client calls one ContainerPub backend. It is safe for concurrent use.
type Client struct {
	baseURL   string
	token     string
	http      *http.Client
	userAgent string
	log       *slog.Logger
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc instead of
// http.DefaultClient, for example to set a timeout or a transport.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithLogger makes the Client log each request at debug level.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) { c.log = l }
}

// New returns a Client for the backend at baseURL (for example
// http://127.0.0.1:8080) that authenticates with token; an empty token
// sends no Authorization header. A malformed baseURL is reported by the
// first call.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		token:     token,
		http:      http.DefaultClient,
		userAgent: DefaultUserAgent,
		log:       slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the backend's URL without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

// FunctionURL returns the URL where the function called name answers.
func (c *Client) FunctionURL(name string) string {
	return c.baseURL + "/f/" + url.PathEscape(name) + "/"
}

// path joins escaped path segments under the base URL. Each segment is
// escaped, so an id or name can never add a segment or a query.
func (c *Client) path(segments ...string) string {
	var b strings.Builder
	b.WriteString(c.baseURL)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// newRequest builds a request carrying the client's credentials.
func (c *Client) newRequest(
	ctx context.Context, method, rawURL string, body io.Reader,
) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.userAgent)
	return req, nil
}

// send sends req and returns the response whatever its status.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.DebugContext(req.Context(), "request failed",
			"method", req.Method, "url", req.URL.Redacted(), "error", err)
		return nil, fmt.Errorf("send request: %w", err)
	}
	c.log.DebugContext(req.Context(), "request done",
		"method", req.Method, "url", req.URL.Redacted(),
		"status", resp.StatusCode, "duration", time.Since(start))
	return resp, nil
}

// do sends req, turns a non-2xx answer into an *APIError, and decodes a
// JSON answer into out unless out is nil.
func (c *Client) do(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	// A failed Close after the answer was read changes nothing for the
	// caller.
	defer func() { _ = resp.Body.Close() }()
	if err := checkResponse(resp); err != nil {
		return err
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// doJSON sends in as a JSON body and decodes the answer into out.
func (c *Client) doJSON(ctx context.Context, method, rawURL string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, rawURL, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.do(req, out)
}

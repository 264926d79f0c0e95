package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Invoke calls fn at its root path through the management API with the
// owner's token, sending body and header. It returns the function's own
// answer whatever its status; the caller must close the body. A request
// that could not be made, or an error answer the platform wrote itself
// (see ErrorHeader), is an error.
func (c *Client) Invoke(
	ctx context.Context, fn string, body io.Reader, header http.Header,
) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodPost,
		c.path("api", "functions", fn, "invoke"), body)
	if err != nil {
		return nil, err
	}
	copyHeader(req.Header, header)
	return c.sendCall(req)
}

// sendCall sends a call and turns the platform's own error answers into
// an *APIError, leaving the function's answers, errors included, alone.
func (c *Client) sendCall(req *http.Request) (*http.Response, error) {
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 && resp.Header.Get(ErrorHeader) != "" {
		// A failed Close after checkResponse read the error changes
		// nothing for the caller.
		defer func() { _ = resp.Body.Close() }()
		return nil, checkResponse(resp)
	}
	return resp, nil
}

// Call sends a request to the function called name through the gateway
// at /f/{name}/{path}. path is written as in a URL, already escaped, and
// may carry a query ("items/42?full=1"). Like Invoke, it returns the
// function's answer whatever its status, and the platform's own error
// answers as errors; the caller must close the body.
// The client's token is sent, so a private function of its owner answers.
func (c *Client) Call(
	ctx context.Context, method, name, path string, body io.Reader, header http.Header,
) (*http.Response, error) {
	u, err := c.callURL(name, path)
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	copyHeader(req.Header, header)
	return c.sendCall(req)
}

// callURL builds the gateway URL of a call, refusing a path that would
// leave the function's prefix once the server cleans it.
func (c *Client) callURL(name, path string) (string, error) {
	path = strings.TrimLeft(path, "/")
	// The leading slash keeps a first segment such as "a:b" from being
	// read as a URL scheme.
	ref, err := url.Parse("/" + path)
	if err != nil {
		return "", fmt.Errorf("parse call path %q: %w", path, err)
	}
	for seg := range strings.SplitSeq(ref.Path, "/") {
		if seg == ".." {
			return "", fmt.Errorf("call path %q: must not contain a %q segment", path, "..")
		}
	}
	return c.FunctionURL(name) + path, nil
}

// copyHeader sets every header of src on dst, replacing the client's own
// value of the same key, so a caller may send its own User-Agent or
// Authorization.
func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst.Del(k)
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Archive content types accepted by Deploy.
const (
	// ContentTypeTarGz is a gzip-compressed tar archive, as Pack writes.
	ContentTypeTarGz = "application/gzip"
	// ContentTypeZip is a zip archive.
	ContentTypeZip = "application/zip"
)

// Deploy uploads a source archive of size bytes as a new version of fn
// and returns the queued deployment. A size below zero sends the archive
// without a length. To show progress, wrap archive in a counting reader.
func (c *Client) Deploy(
	ctx context.Context, fn string, archive io.Reader, size int64, contentType string,
) (Deployment, error) {
	req, err := c.newRequest(ctx, http.MethodPost,
		c.path("api", "functions", fn, "deployments"), archive)
	if err != nil {
		return Deployment{}, err
	}
	req.Header.Set("Content-Type", contentType)
	// A reader other than the few http.NewRequest knows has an unknown
	// length; set it so the server can refuse an oversized upload at once.
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	var d Deployment
	if err := c.do(req, &d); err != nil {
		return Deployment{}, fmt.Errorf("upload archive: %w", err)
	}
	return d, nil
}

// ListDeployments returns the versions of fn, newest first.
func (c *Client) ListDeployments(ctx context.Context, fn string) ([]Deployment, error) {
	var ds []Deployment
	err := c.doJSON(ctx, http.MethodGet,
		c.path("api", "functions", fn, "deployments"), nil, &ds)
	return ds, err
}

// GetDeployment returns one version of fn.
func (c *Client) GetDeployment(ctx context.Context, fn string, version int) (Deployment, error) {
	var d Deployment
	err := c.doJSON(ctx, http.MethodGet,
		c.path("api", "functions", fn, "deployments", strconv.Itoa(version)), nil, &d)
	return d, err
}

// BuildLog copies the build log of one version of fn to w. With follow,
// it keeps copying as the build writes until the server ends the body,
// which it does when the deployment is done, or until ctx ends.
func (c *Client) BuildLog(ctx context.Context, fn string, version int, follow bool, w io.Writer) error {
	u := c.path("api", "functions", fn, "deployments", strconv.Itoa(version), "log")
	if follow {
		u += "?follow=1"
	}
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // the log is read below; Close adds nothing
	if err := checkResponse(resp); err != nil {
		return err
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("read build log: %w", err)
	}
	return nil
}

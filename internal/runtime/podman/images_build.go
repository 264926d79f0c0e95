package podman

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// buildParams are the build settings the driver passes to Podman.
type buildParams struct {
	Tag           string
	Containerfile string
	Labels        map[string]string
	BuildArgs     map[string]string
	MemoryBytes   int64
	KeepLayers    bool
}

// ociManifest is the OCI image format. The build endpoint defaults to
// Docker's, with which Podman 4.3 never finds a cached layer (measured:
// two identical builds share nothing), while the CLI, which defaults to
// OCI, does.
const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// query writes p as the build endpoint's query string. Intermediate
// containers are removed whether the build succeeds or fails, so a failed
// build leaks nothing; step images are kept only when asked for.
func (p buildParams) query() (url.Values, error) {
	q := url.Values{
		"t":            {p.Tag},
		"outputformat": {ociManifest},
		"layers":       {strconv.FormatBool(p.KeepLayers)},
		"rm":           {"true"},
		"forcerm":      {"true"},
	}
	if p.Containerfile != "" {
		q.Set("dockerfile", p.Containerfile)
	}
	if p.MemoryBytes > 0 {
		q.Set("memory", strconv.FormatInt(p.MemoryBytes, 10))
	}
	for name, m := range map[string]map[string]string{"labels": p.Labels, "buildargs": p.BuildArgs} {
		if len(m) == 0 {
			continue
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		q.Set(name, string(b))
	}
	return q, nil
}

// buildImage builds an image from a tar context: POST /build. The answer
// streams JSON messages while the build runs; their text goes to log as
// it arrives.
func (c *client) buildImage(
	ctx context.Context, p buildParams, tarContext io.Reader, log io.Writer,
) (string, error) {
	query, err := p.query()
	if err != nil {
		return "", fmt.Errorf("build %s: %w", p.Tag, err)
	}
	req := request{
		method:      "POST",
		path:        "/build",
		query:       query,
		body:        tarContext,
		contentType: "application/x-tar",
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", p.Tag, err)
	}
	defer closeBody(resp)
	id, err := readBuildStream(resp.Body, log)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", p.Tag, err)
	}
	return id, nil
}

// buildMessage is one message of the build stream.
type buildMessage struct {
	Stream string `json:"stream"`
	Error  string `json:"error"`
	Aux    *struct {
		ID string `json:"ID"`
	} `json:"aux"`
}

// BuildError is a build that ran and failed. Its message is the build's
// own last error line, for example a compiler's complaint.
type BuildError struct {
	Message string
}

func (e *BuildError) Error() string { return e.Message }

// errNoImageID is a build stream that ended without an error and
// without naming the image it made.
var errNoImageID = errors.New("build output names no image id")

// readBuildStream copies the text of a build stream to log as it arrives
// and returns the id of the image built. A stream carrying an error
// returns a *BuildError with the last error; the error is written to log
// too, so that the log alone tells why the build failed.
func readBuildStream(r io.Reader, log io.Writer) (string, error) {
	dec := json.NewDecoder(r)
	var id, lastErr string
	for {
		var m buildMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read build output: %w", err)
		}
		// A log that fails to take a line must not fail the build; the
		// caller's writer decides what to do about its own errors.
		if m.Stream != "" {
			_, _ = io.WriteString(log, m.Stream)
			if line := strings.TrimSpace(m.Stream); isImageID(line) {
				id = line
			}
		}
		if m.Aux != nil && isImageID(strings.TrimPrefix(m.Aux.ID, "sha256:")) {
			id = strings.TrimPrefix(m.Aux.ID, "sha256:")
		}
		if m.Error != "" {
			lastErr = strings.TrimSpace(m.Error)
			_, _ = io.WriteString(log, lastErr+"\n")
		}
	}
	if lastErr != "" {
		return "", &BuildError{Message: lastErr}
	}
	if id == "" {
		return "", errNoImageID
	}
	return id, nil
}

// isImageID reports whether s is a full image id: 64 lowercase hex
// digits. Podman ends a successful build's stream with one.
func isImageID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

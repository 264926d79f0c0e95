package podman

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
)

// Build builds an image with Podman, writing the build's output to log as
// it arrives. A failed build returns an error wrapping a *BuildError.
func (d *Driver) Build(ctx context.Context, spec runtime.BuildSpec, log io.Writer) (string, error) {
	if spec.Tag == "" || spec.Context == nil {
		return "", errors.New("build: tag and context are required")
	}
	start := time.Now()
	id, err := d.c.buildImage(ctx, buildParams{
		Tag:           spec.Tag,
		Containerfile: spec.Containerfile,
		Labels:        spec.Labels,
		BuildArgs:     spec.BuildArgs,
		MemoryBytes:   spec.MemoryBytes,
		KeepLayers:    spec.KeepLayers,
	}, spec.Context, orDiscard(log))
	if err != nil {
		d.logger.Info("image build failed", "image", spec.Tag, "duration", time.Since(start), "error", err)
		return "", err
	}
	d.logger.Info("image built", "image", spec.Tag, "image_id", id, "duration", time.Since(start))
	return id, nil
}

// ImageExists reports whether an image is in Podman's storage.
func (d *Driver) ImageExists(ctx context.Context, ref string) (bool, error) {
	return d.c.imageExists(ctx, ref)
}

// RemoveImage removes an image. A missing image is not an error; an image
// that containers still use is.
func (d *Driver) RemoveImage(ctx context.Context, ref string) error {
	err := d.c.deleteImage(ctx, ref)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	d.logger.Info("image removed", "image", ref)
	return nil
}

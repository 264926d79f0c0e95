package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerpub/containerpub/client"
)

// Source is an upload that passed Check.
type Source struct {
	// Config is the manifest with the policy's defaults filled in.
	Config client.FunctionConfig
	// Hash is the client.TreeHash of the source tree.
	Hash string
	// Warnings point at code that builds but may not work on the
	// platform; they do not stop a deployment.
	Warnings []string
}

// maxManifestBytes caps containerpub.yaml, which is read whole.
const maxManifestBytes = 64 << 10

// SupportedRuntimes lists the runtimes the backend builds.
var SupportedRuntimes = []string{client.RuntimeGo}

// Check is the whole server-side check of an uploaded archive of size
// bytes, done before anything is stored: it unpacks the archive into dir
// (an empty directory the caller owns and removes), reads and resolves
// the manifest at its root, and runs the runtime's own source check.
// Errors about the upload wrap ErrInvalid or ErrTooLarge and carry a
// message for the user.
func Check(ctx context.Context, r io.ReaderAt, size int64, p Policy, dir string) (Source, error) {
	tree, err := Unpack(ctx, r, size, p, dir)
	if err != nil {
		return Source{}, err
	}
	cfg, err := readManifest(dir)
	if err != nil {
		return Source{}, err
	}
	cfg, err = p.Resolve(cfg)
	if err != nil {
		return Source{}, err
	}
	var warnings []string
	switch cfg.Runtime {
	case client.RuntimeGo:
		warnings, err = checkGoTree(p, dir)
	default:
		err = invalid(fmt.Sprintf("unknown runtime %q: supported runtimes are %s",
			cfg.Runtime, strings.Join(SupportedRuntimes, ", ")))
	}
	if err != nil {
		return Source{}, err
	}
	return Source{Config: cfg, Hash: tree.Hash, Warnings: warnings}, nil
}

// readManifest reads and parses the manifest at the root of dir.
func readManifest(dir string) (client.FunctionConfig, error) {
	p := filepath.Join(dir, client.ManifestFile)
	info, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return client.FunctionConfig{}, invalid(missingManifest(dir))
	}
	if err != nil {
		return client.FunctionConfig{}, fmt.Errorf("read manifest: %w", err)
	}
	switch {
	case !info.Mode().IsRegular():
		return client.FunctionConfig{}, invalid(client.ManifestFile + " must be a regular file")
	case info.Size() > maxManifestBytes:
		return client.FunctionConfig{}, invalid(fmt.Sprintf("%s is %d bytes, over the maximum %d",
			client.ManifestFile, info.Size(), maxManifestBytes))
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return client.FunctionConfig{}, fmt.Errorf("read manifest: %w", err)
	}
	cfg, err := client.ParseConfig(data)
	if err != nil {
		return client.FunctionConfig{}, invalid(err.Error())
	}
	return cfg, nil
}

// missingManifest explains a missing manifest, spotting the common
// mistake of archiving the function's folder instead of its contents.
func missingManifest(dir string) string {
	msg := fmt.Sprintf("no %s at the root of the archive", client.ManifestFile)
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || !entries[0].IsDir() {
		return msg
	}
	sub := entries[0].Name()
	if _, err := os.Lstat(filepath.Join(dir, sub, client.ManifestFile)); err == nil {
		return fmt.Sprintf("%s: it is in %s/; archive the contents of the function's folder, not the folder", msg, sub)
	}
	return msg
}

// checkGoTree runs the Go source check on an unpacked tree, and checks
// that the builder's Go is new enough for go.mod.
func checkGoTree(p Policy, dir string) ([]string, error) {
	report := client.CheckGo(os.DirFS(dir))
	if !report.OK() {
		return nil, invalid("go source: " + strings.Join(report.Errors, "; "))
	}
	if err := checkGoVersion(p, dir); err != nil {
		return nil, err
	}
	return report.Warnings, nil
}

package client

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"sort"
)

// TreeHash hashes a source tree independently of how it was archived:
// the order of entries, timestamps, owners and compression do not count;
// paths, contents, executable bits and link targets do. The CLI computes
// it while packing and the backend while unpacking, so an unchanged tree
// can be recognised without uploading it.
type TreeHash struct {
	entries map[string]string
}

// NewTreeHash returns an empty TreeHash.
func NewTreeHash() *TreeHash {
	return &TreeHash{entries: make(map[string]string)}
}

// AddFile adds a regular file at the slash-separated path.
func (h *TreeHash) AddFile(path string, mode fs.FileMode, content io.Reader) error {
	sum := sha256.New()
	if _, err := io.Copy(sum, content); err != nil {
		return fmt.Errorf("hash %s: %w", path, err)
	}
	kind := "f"
	if mode&0o111 != 0 {
		kind = "x"
	}
	h.entries[path] = kind + hex.EncodeToString(sum.Sum(nil))
	return nil
}

// AddSymlink adds a symbolic link at path pointing to target.
func (h *TreeHash) AddSymlink(path, target string) {
	h.entries[path] = "l" + target
}

// Sum returns the hash as "sha256:<hex>".
func (h *TreeHash) Sum() string {
	paths := make([]string, 0, len(h.entries))
	for p := range h.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	sum := sha256.New()
	for _, p := range paths {
		// A hash.Hash never fails a write.
		_, _ = fmt.Fprintf(sum, "%s\x00%s\x00", p, h.entries[p])
	}
	return "sha256:" + hex.EncodeToString(sum.Sum(nil))
}

//go:build unix

package client

import (
	"bytes"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPackLeavesOutSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.go": "package function\n"})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res, err := Pack(dir, &buf)
	if err != nil {
		t.Fatalf("Pack() error = %v", err)
	}
	want := []string{"left out pipe: not a regular file, directory or link"}
	if diff := cmp.Diff(want, res.Warnings); diff != "" {
		t.Errorf("Pack() warnings (-want +got):\n%s", diff)
	}
	if res.Files != 1 {
		t.Errorf("Pack() packed %d files, want 1", res.Files)
	}
}

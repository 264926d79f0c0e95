package build

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// contextWriter writes a build context as a tar stream. Every entry gets
// the time the context was made. A fixed time would be wrong: the go
// command caches what it reads of a package directory keyed by file
// names, sizes and times, so two builds of one owner (one build cache)
// whose generated main.go differ only in content would share the first
// one's imports.
type contextWriter struct {
	tw    *tar.Writer
	mtime time.Time
}

func newContextWriter(w io.Writer) *contextWriter {
	return &contextWriter{tw: tar.NewWriter(w), mtime: time.Now().UTC()}
}

// addBytes adds a regular file holding data.
func (c *contextWriter) addBytes(name string, mode int64, data []byte) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)),
		ModTime: c.mtime, Format: tar.FormatPAX,
	}
	if err := c.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write context %s: %w", name, err)
	}
	if _, err := c.tw.Write(data); err != nil {
		return fmt.Errorf("write context %s: %w", name, err)
	}
	return nil
}

// addFile adds the file at src, following a symbolic link, as name.
func (c *contextWriter) addFile(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("write context %s: %w", name, err)
	}
	defer func() { _ = f.Close() }() // only read
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("write context %s: %w", name, err)
	}
	return c.copyFile(name, info, f)
}

func (c *contextWriter) copyFile(name string, info fs.FileInfo, r io.Reader) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: name, Mode: int64(normalMode(info.Mode())),
		Size: info.Size(), ModTime: c.mtime, Format: tar.FormatPAX,
	}
	if err := c.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write context %s: %w", name, err)
	}
	// CopyN: a file that grew since Stat must not overrun its header.
	if _, err := io.CopyN(c.tw, r, info.Size()); err != nil {
		return fmt.Errorf("write context %s: %w", name, err)
	}
	return nil
}

// addTree adds the tree at root under prefix, keeping symbolic links as
// links. skip, when not nil, leaves out the slash-separated relative
// paths it returns true for (a directory with all it holds).
func (c *contextWriter) addTree(root, prefix string, skip func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("write context: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("write context: %w", err)
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && skip != nil && skip(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return c.addEntry(path.Join(prefix, rel), p, d)
	})
}

func (c *contextWriter) addEntry(name, p string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return fmt.Errorf("write context %s: %w", name, err)
	}
	hdr := &tar.Header{Name: name, ModTime: c.mtime, Format: tar.FormatPAX}
	switch {
	case d.IsDir():
		hdr.Typeflag, hdr.Mode, hdr.Name = tar.TypeDir, 0o755, name+"/"
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("write context %s: %w", name, err)
		}
		hdr.Typeflag, hdr.Mode, hdr.Linkname = tar.TypeSymlink, 0o777, target
	case d.Type().IsRegular():
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("write context %s: %w", name, err)
		}
		defer func() { _ = f.Close() }() // only read
		return c.copyFile(name, info, f)
	default:
		return nil // sockets and the like have no place in a context
	}
	if err := c.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write context %s: %w", name, err)
	}
	return nil
}

// close ends the tar stream.
func (c *contextWriter) close() error {
	if err := c.tw.Close(); err != nil {
		return fmt.Errorf("write context: %w", err)
	}
	return nil
}

// skipGorootPart leaves out the parts of a Go installation that builds do
// not read: tests, test data, API lists and docs. It roughly halves the
// builder's context.
func skipGorootPart(rel string, d fs.DirEntry) bool {
	switch rel {
	case "test", "api", "doc", "misc":
		return true
	}
	name := d.Name()
	if d.IsDir() {
		return name == "testdata"
	}
	return strings.HasSuffix(name, "_test.go")
}

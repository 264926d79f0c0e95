package build

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// requireServicesEnv makes a missing service fail a test instead of
// skipping it, as CI wants.
const requireServicesEnv = "CONTAINERPUB_REQUIRE_SERVICES"

// skipOrFail skips a test whose service is missing, loudly, or fails it
// when CI requires every service.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(requireServicesEnv) == "1" {
		t.Fatalf("required service missing: "+format, args...)
	}
	t.Skipf("SKIPPING, service missing: "+format, args...)
}

// member is one entry of a test archive.
type member struct {
	name string
	body string
	mode int64
	// typ is a tar type flag; zip archives map it to a file mode.
	typ  byte
	link string
}

func file(name, body string) member {
	return member{name: name, body: body, mode: 0o644, typ: tar.TypeReg}
}

func dir(name string) member { return member{name: name, mode: 0o755, typ: tar.TypeDir} }

func symlink(name, target string) member {
	return member{name: name, link: target, mode: 0o777, typ: tar.TypeSymlink}
}

// tarGz builds a tar.gz archive of members, in order.
func tarGz(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, m := range members {
		hdr := &tar.Header{
			Name: m.name, Mode: m.mode, Typeflag: m.typ, Linkname: m.link,
			Size: int64(len(m.body)), ModTime: time.Unix(1e9, 0), Format: tar.FormatPAX,
		}
		if m.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write tar header %q: %v", m.name, err)
		}
		if m.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipOf builds a zip archive of members, in order.
func zipOf(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		hdr := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		mode := fs.FileMode(m.mode)
		body := m.body
		switch m.typ {
		case tar.TypeDir:
			mode |= fs.ModeDir
		case tar.TypeSymlink:
			mode |= fs.ModeSymlink
			body = m.link
		case tar.TypeFifo:
			mode |= fs.ModeNamedPipe
		case tar.TypeChar:
			mode |= fs.ModeDevice | fs.ModeCharDevice
		}
		hdr.SetMode(mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatalf("write zip header %q: %v", m.name, err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// packDir archives the directory at root as tar.gz, as the CLI would.
func packDir(t testing.TB, root string) []byte {
	t.Helper()
	var members []member
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		members = append(members, file(filepath.ToSlash(rel), string(data)))
		return nil
	})
	if err != nil {
		t.Fatalf("pack %s: %v", root, err)
	}
	return tarGz(t, members...)
}

// examplesDir is the repository's examples directory.
func examplesDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

package client

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tarEntry is what a test reads back of one archive entry.
type tarEntry struct {
	Name     string
	Type     byte
	Mode     int64
	Linkname string
	Content  string
}

// writeTree creates files under dir; a value starting with "->" makes a
// symbolic link, a key ending in "*" an executable file.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		// WriteFile keeps the umask's view of mode; set it exactly.
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// pack packs dir and returns the archive's bytes.
func pack(t *testing.T, dir string) (PackResult, []byte) {
	t.Helper()
	var buf bytes.Buffer
	res, err := Pack(dir, &buf)
	if err != nil {
		t.Fatalf("Pack(%s) error = %v", dir, err)
	}
	return res, buf.Bytes()
}

// unpack reads an archive back and hashes it the way the backend does.
func unpack(t *testing.T, archive []byte) ([]tarEntry, string) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	hash := NewTreeHash()
	var entries []tarEntry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		if !hdr.ModTime.Equal(time.Unix(0, 0)) || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("entry %s carries time %v, owner %d:%d %q:%q; want all cleared",
				hdr.Name, hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		content, _ := io.ReadAll(tr)
		entries = append(entries, tarEntry{hdr.Name, hdr.Typeflag, hdr.Mode, hdr.Linkname, string(content)})
		switch hdr.Typeflag {
		case tar.TypeReg:
			hash.AddFile(hdr.Name, hdr.FileInfo().Mode(), bytes.NewReader(content))
		case tar.TypeSymlink:
			hash.AddSymlink(hdr.Name, hdr.Linkname)
		}
	}
	return entries, hash.Sum()
}

func TestPackContents(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"containerpub.yaml":   "name: hello\n",
		"handler.go":          "package function\n",
		"run.sh*":             "#!/bin/sh\n",
		"sub/build/keep.go":   "package build\n",
		"sub/link":            "->../handler.go",
		"sub/.DS_Store":       "finder",
		".DS_Store":           "finder",
		".git/config":         "[core]",
		"sub/.git/HEAD":       "ref",
		".hg/x":               "x",
		".svn/x":              "x",
		".dart_tool/x":        "x",
		"sub/node_modules/x":  "x",
		"build/out":           "binary",
		"bin/tool":            "binary",
		"app.log":             "log",
		"sub/deep/trace.log":  "log",
		"tmp/cache":           "x",
		"sub/tmp":             "a file, not the tmp/ directory",
		"docs/a.md":           "left out",
		"docs/sub/b.md":       "kept: * stays in one segment",
		IgnoreFile:            "# comment\n\n*.log\ntmp/\n/docs/*.md\n",
		"notes/readme.md":     "kept",
		"emptydir/.gitignore": "",
	})
	res, archive := pack(t, dir)
	entries, hash := unpack(t, archive)
	want := []tarEntry{
		{IgnoreFile, tar.TypeReg, 0o644, "", "# comment\n\n*.log\ntmp/\n/docs/*.md\n"},
		{"containerpub.yaml", tar.TypeReg, 0o644, "", "name: hello\n"},
		{"docs/", tar.TypeDir, 0o755, "", ""},
		{"docs/sub/", tar.TypeDir, 0o755, "", ""},
		{"docs/sub/b.md", tar.TypeReg, 0o644, "", "kept: * stays in one segment"},
		{"emptydir/", tar.TypeDir, 0o755, "", ""},
		{"emptydir/.gitignore", tar.TypeReg, 0o644, "", ""},
		{"handler.go", tar.TypeReg, 0o644, "", "package function\n"},
		{"notes/", tar.TypeDir, 0o755, "", ""},
		{"notes/readme.md", tar.TypeReg, 0o644, "", "kept"},
		{"run.sh", tar.TypeReg, 0o755, "", "#!/bin/sh\n"},
		{"sub/", tar.TypeDir, 0o755, "", ""},
		{"sub/build/", tar.TypeDir, 0o755, "", ""},
		{"sub/build/keep.go", tar.TypeReg, 0o644, "", "package build\n"},
		{"sub/deep/", tar.TypeDir, 0o755, "", ""},
		{"sub/link", tar.TypeSymlink, 0o777, "../handler.go", ""},
		{"sub/tmp", tar.TypeReg, 0o644, "", "a file, not the tmp/ directory"},
	}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
	if res.Hash != hash {
		t.Errorf("Pack() hash = %s, but the unpacked archive hashes to %s", res.Hash, hash)
	}
	wantRes := PackResult{Hash: hash, Files: 10, Bytes: 0}
	for _, e := range want {
		wantRes.Bytes += int64(len(e.Content))
	}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("Pack() result (-want +got):\n%s", diff)
	}
}

func TestPackDeterministic(t *testing.T) {
	files := map[string]string{
		"containerpub.yaml": "name: hello\n",
		"a.go":              "package function\n",
		"z/y/x.go":          "package x\n",
		"m.sh*":             "#!/bin/sh\n",
		"l":                 "->a.go",
	}
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, files)
	// Create b's files in another order and give them other times.
	names := []string{"z/y/x.go", "l", "m.sh*", "a.go", "containerpub.yaml"}
	for _, n := range names {
		writeTree(t, b, map[string]string{n: files[n]})
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, n := range []string{"a.go", "z/y/x.go", "z"} {
		if err := os.Chtimes(filepath.Join(b, n), old, old); err != nil {
			t.Fatal(err)
		}
	}
	resA, archA := pack(t, a)
	resB, archB := pack(t, b)
	if resA.Hash != resB.Hash {
		t.Errorf("hashes differ for equal trees: %s and %s", resA.Hash, resB.Hash)
	}
	if !bytes.Equal(archA, archB) {
		t.Errorf("archives differ for equal trees (%d and %d bytes)", len(archA), len(archB))
	}
	_, again := pack(t, a)
	if !bytes.Equal(archA, again) {
		t.Error("packing the same tree twice gave different archives")
	}
}

func TestPackHashChanges(t *testing.T) {
	base := map[string]string{
		"containerpub.yaml": "name: hello\n",
		"a.go":              "package function\n",
		"l":                 "->a.go",
	}
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
	}{
		{"one-byte", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "a.go"), "package functioN\n")
		}},
		{"executable-bit", func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "a.go"), 0o744); err != nil {
				t.Fatal(err)
			}
		}},
		{"rename", func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "a.go"), filepath.Join(dir, "b.go")); err != nil {
				t.Fatal(err)
			}
		}},
		{"new-empty-file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "c.go"), "")
		}},
		{"link-target", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "l"))
			if err := os.Symlink("containerpub.yaml", filepath.Join(dir, "l")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	dir := t.TempDir()
	writeTree(t, dir, base)
	before, _ := pack(t, dir)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			writeTree(t, d, base)
			tt.change(t, d)
			after, archive := pack(t, d)
			if after.Hash == before.Hash {
				t.Errorf("hash unchanged after %s: %s", tt.name, after.Hash)
			}
			if _, h := unpack(t, archive); h != after.Hash {
				t.Errorf("Pack() hash = %s, unpacked archive hashes to %s", after.Hash, h)
			}
		})
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPackLinks(t *testing.T) {
	tests := []struct {
		name, link, target string
		wantErr            bool
	}{
		{name: "sibling", link: "l", target: "a.go"},
		{name: "into-dir", link: "l", target: "sub"},
		{name: "up-and-back", link: "sub/l", target: "../a.go"},
		{name: "root", link: "sub/l", target: ".."},
		{name: "dangling-inside", link: "l", target: "missing"},
		{name: "absolute", link: "l", target: "/etc/passwd", wantErr: true},
		{name: "parent", link: "l", target: "../x", wantErr: true},
		{name: "parent-of-root", link: "l", target: "..", wantErr: true},
		{name: "deep-escape", link: "sub/l", target: "../../x", wantErr: true},
		{name: "sneaky", link: "l", target: "sub/../../x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"a.go": "package function\n", "sub/b.go": "package sub\n"})
			if err := os.Symlink(tt.target, filepath.Join(dir, filepath.FromSlash(tt.link))); err != nil {
				t.Fatal(err)
			}
			_, err := Pack(dir, io.Discard)
			if tt.wantErr != errors.Is(err, ErrUnsafeLink) {
				t.Errorf("Pack() with %s -> %s error = %v, want ErrUnsafeLink: %v", tt.link, tt.target, err, tt.wantErr)
			}
			if !tt.wantErr && err != nil {
				t.Errorf("Pack() error = %v", err)
			}
		})
	}
}

func TestPackRootIsLink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	writeTree(t, real, map[string]string{"a.go": "package function\n"})
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	want, _ := pack(t, real)
	got, _ := pack(t, link)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Pack(link to tree) (-want +got):\n%s", diff)
	}
}

func TestPackWarnings(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"a.go":              "package function\n",
		".env":              "TOKEN=x",
		".env.local":        "TOKEN=x",
		"certs/server.PEM":  "x",
		"tls.key":           "x",
		"id_rsa.pub":        "x",
		"id_ed25519":        "x",
		"credentials.json":  "x",
		"keyboard.go":       "package function\n",
		"environment.go":    "package function\n",
		"big/zeros.bin":     strings.Repeat("\x00", PackWarnSize+1),
		"ignored/.env":      "ignored, so no warning",
		IgnoreFile:          "ignored/\n",
		"env.go":            "package function\n",
		"not_credentials.x": "x",
	})
	res, _ := pack(t, dir)
	want := []string{
		"packing .env, which looks like a secret; list it in .containerpubignore to leave it out",
		"packing .env.local, which looks like a secret; list it in .containerpubignore to leave it out",
		"packing certs/server.PEM, which looks like a secret; list it in .containerpubignore to leave it out",
		"packing credentials.json, which looks like a secret; list it in .containerpubignore to leave it out",
		"packing id_ed25519, which looks like a secret; list it in .containerpubignore to leave it out",
		"packing id_rsa.pub, which looks like a secret; list it in .containerpubignore to leave it out",
		"packing tls.key, which looks like a secret; list it in .containerpubignore to leave it out",
		"the source tree holds 5.0 MiB of files, over 5 MiB: the server may refuse it; list what the build does not need in .containerpubignore",
	}
	if diff := cmp.Diff(want, res.Warnings); diff != "" {
		t.Errorf("Pack() warnings (-want +got):\n%s", diff)
	}
}

func TestPackErrors(t *testing.T) {
	t.Run("missing-dir", func(t *testing.T) {
		if _, err := Pack(filepath.Join(t.TempDir(), "nope"), io.Discard); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Pack(missing) error = %v, want not exist", err)
		}
	})
	t.Run("bad-ignore-file", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{IgnoreFile: "ok\n!keep.go\n"})
		_, err := Pack(dir, io.Discard)
		if !errors.Is(err, errBadIgnore) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("Pack() error = %v, want a bad ignore file error naming line 2", err)
		}
	})
	t.Run("writer-fails", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"a.go": strings.Repeat("x", 1<<20)})
		if _, err := Pack(dir, failingWriter{}); !errors.Is(err, errWrite) {
			t.Errorf("Pack() error = %v, want the writer's error", err)
		}
	})
}

var errWrite = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

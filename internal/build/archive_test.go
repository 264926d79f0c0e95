package build

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/client"
)

// unpack runs Unpack on data into a fresh directory.
func unpack(t testing.TB, data []byte, p Policy) (string, Unpacked, error) {
	t.Helper()
	dir := t.TempDir()
	u, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), p, dir)
	return dir, u, err
}

// listTree describes the tree at dir as path -> "file 0644 content",
// "dir" or "link target".
func listTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	got := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			got[rel] = "link " + target
		case info.IsDir():
			got[rel] = "dir " + info.Mode().Perm().String()
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[rel] = "file " + info.Mode().Perm().String() + " " + string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestUnpackValid(t *testing.T) {
	members := []member{
		file("./containerpub.yaml", "name: x\n"),
		{name: "bin/run.sh", body: "#!/bin/sh\n", mode: 0o700, typ: tar.TypeReg},
		{name: "odd.txt", body: "o", mode: 0o4777 &^ 0o111, typ: tar.TypeReg},
		dir("empty/"),
		file("a/b/c.go", "package c"),
		dir("a/"), // after its contents, as some tools write it
		symlink("a/link", "b/c.go"),
		symlink("up", "a/b/../b"),
	}
	want := map[string]string{
		"containerpub.yaml": "file -rw-r--r-- name: x\n",
		"bin":               "dir -rwxr-xr-x",
		"bin/run.sh":        "file -rwxr-xr-x #!/bin/sh\n",
		"odd.txt":           "file -rw-r--r-- o",
		"empty":             "dir -rwxr-xr-x",
		"a":                 "dir -rwxr-xr-x",
		"a/b":               "dir -rwxr-xr-x",
		"a/b/c.go":          "file -rw-r--r-- package c",
		"a/link":            "link b/c.go",
		"up":                "link a/b/../b",
	}
	formats := []struct {
		name string
		data []byte
	}{
		{"tar_gz", tarGz(t, members...)},
		{"zip", zipOf(t, members...)},
	}
	var hashes []string
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			dir, u, err := unpack(t, f.data, DefaultPolicy())
			if err != nil {
				t.Fatalf("Unpack() = %v", err)
			}
			if diff := cmp.Diff(want, listTree(t, dir)); diff != "" {
				t.Errorf("Unpack() tree mismatch (-want +got):\n%s", diff)
			}
			if u.Entries != len(members) {
				t.Errorf("Unpack() entries = %d, want %d", u.Entries, len(members))
			}
			if u.Bytes != int64(len("name: x\n#!/bin/sh\nopackage c")) {
				t.Errorf("Unpack() bytes = %d", u.Bytes)
			}
			hashes = append(hashes, u.Hash)
		})
	}
	// The hash ignores the format, the order, times and the x bits'
	// exact pattern, as the CLI's hash of the same tree does.
	h := client.NewTreeHash()
	addFile := func(p string, mode fs.FileMode, s string) {
		if err := h.AddFile(p, mode, strings.NewReader(s)); err != nil {
			t.Fatal(err)
		}
	}
	addFile("a/b/c.go", 0o644, "package c")
	addFile("bin/run.sh", 0o755, "#!/bin/sh\n")
	addFile("containerpub.yaml", 0o644, "name: x\n")
	addFile("odd.txt", 0o644, "o")
	h.AddSymlink("a/link", "b/c.go")
	h.AddSymlink("up", "a/b/../b")
	wantHash := h.Sum()
	for i, got := range hashes {
		if got != wantHash {
			t.Errorf("format %s hash = %s, want %s", formats[i].name, got, wantHash)
		}
	}
}

func TestUnpackHardLinkIsCopy(t *testing.T) {
	data := tarGz(t, file("a.txt", "shared"), member{name: "b.txt", typ: tar.TypeLink, link: "a.txt", mode: 0o755})
	dir, _, err := unpack(t, data, DefaultPolicy())
	if err != nil {
		t.Fatalf("Unpack() = %v", err)
	}
	want := map[string]string{"a.txt": "file -rw-r--r-- shared", "b.txt": "file -rwxr-xr-x shared"}
	if diff := cmp.Diff(want, listTree(t, dir)); diff != "" {
		t.Errorf("Unpack() tree mismatch (-want +got):\n%s", diff)
	}
}

func TestUnpackRejects(t *testing.T) {
	tests := []struct {
		name    string
		members []member
		zipOnly bool
		tarOnly bool
		want    string
	}{
		{name: "dotdot", members: []member{file("a/../../etc/passwd", "x")}, want: `archive entry "a/../../etc/passwd": path has a .. component`},
		{name: "dotdot_alone", members: []member{file("..", "x")}, want: "path has a .. component"},
		{name: "absolute", members: []member{file("/etc/passwd", "x")}, want: `archive entry "/etc/passwd": absolute path`},
		{name: "backslash", members: []member{file(`a\..\b`, "x")}, want: "backslash or NUL"},
		{name: "nul", members: []member{file("a\x00b", "x")}, zipOnly: true, want: "backslash or NUL"},
		{name: "control", members: []member{file("a\nb", "x")}, want: "control character"},
		{name: "unclean", members: []member{file("a//b", "x")}, want: "path is not clean"},
		{name: "unclean_dot", members: []member{file("a/./b", "x")}, want: "path is not clean"},
		{name: "long_component", members: []member{file(strings.Repeat("a", 256), "x")}, want: "path component is over 255 bytes"},
		{name: "fifo", members: []member{{name: "p", typ: tar.TypeFifo, mode: 0o644}}, want: `archive entry "p" is a fifo`},
		{name: "device", members: []member{{name: "dev", typ: tar.TypeChar, mode: 0o644}}, want: `archive entry "dev" is a device file`},
		{name: "duplicate", members: []member{file("a", "1"), file("a", "2")}, want: `archive entry "a" appears twice`},
		{name: "duplicate_after_dot_slash", members: []member{file("a", "1"), file("./a", "2")}, want: `archive entry "a" appears twice`},
		{name: "duplicate_dir", members: []member{dir("d/"), dir("d/")}, want: `archive entry "d" appears twice`},
		{name: "file_over_implicit_dir", members: []member{file("d/x", "1"), file("d", "2")}, want: "a directory of that name"},
		{name: "file_as_parent", members: []member{file("f", "1"), file("f/x", "2")}, want: `"f" is not a directory`},
		{name: "through_symlink", members: []member{symlink("l", "d"), dir("d/"), file("l/x", "2")}, want: `"l" is not a directory`},
		{name: "symlink_absolute", members: []member{symlink("l", "/etc/passwd")}, want: `archive entry "l": symbolic link points outside the archive: "/etc/passwd" is absolute`},
		{name: "symlink_up", members: []member{symlink("a/l", "../../x")}, want: `archive entry "a/l": symbolic link points outside the archive`},
		{name: "symlink_chain_escape", members: []member{
			dir("p/"), dir("p/q/"), symlink("p/q/y", "../.."), symlink("p/q/l", "y/../.."),
		}, want: `archive entry "p/q/l": symbolic link points outside the archive`},
		{name: "symlink_loop", members: []member{symlink("a", "b"), symlink("b", "a")}, want: "is part of a loop"},
		{name: "symlink_empty", members: []member{symlink("a", "")}, want: "empty target"},
		{name: "hardlink_outside", members: []member{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}, tarOnly: true, want: `hard link to "/etc/passwd"`},
		{name: "hardlink_later", members: []member{{name: "h", typ: tar.TypeLink, link: "x"}, file("x", "1")}, tarOnly: true, want: "not an earlier file"},
		{name: "hardlink_to_dir", members: []member{dir("d/"), {name: "h", typ: tar.TypeLink, link: "d"}}, tarOnly: true, want: "not an earlier file"},
	}
	for _, tt := range tests {
		for _, format := range []string{"tar_gz", "zip"} {
			if tt.zipOnly && format == "tar_gz" || tt.tarOnly && format == "zip" {
				continue
			}
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				data := tarGzOrZip(t, format, tt.members)
				dir, _, err := unpack(t, data, DefaultPolicy())
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Unpack() = %v, want ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Unpack() = %q, want it to contain %q", err, tt.want)
				}
				assertInside(t, dir)
			})
		}
	}
}

func tarGzOrZip(t testing.TB, format string, members []member) []byte {
	if format == "zip" {
		return zipOf(t, members...)
	}
	return tarGz(t, members...)
}

// assertInside checks that nothing was written next to dir, the one
// place an escaping entry could reach in these tests.
func assertInside(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(dir) {
			t.Errorf("Unpack wrote %s outside its directory", e.Name())
		}
	}
}

func TestUnpackNotAnArchive(t *testing.T) {
	var gzOfText bytes.Buffer
	gz := gzip.NewWriter(&gzOfText)
	gz.Write([]byte(strings.Repeat("not a tar ", 100)))
	gz.Close()
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "archive is not zip or tar.gz"},
		{"text", []byte("hello world"), "archive is not zip or tar.gz"},
		{"plain_tar", []byte(strings.Repeat("\x00", 1024)), "archive is not zip or tar.gz"},
		{"gzip_of_text", gzOfText.Bytes(), "archive is not zip or tar.gz: the gzip stream does not hold a tar"},
		{"truncated_gzip", tarGz(t, file("a", "b"))[:20], "archive is not"},
		{"truncated_zip", zipOf(t, file("a", "b"))[:30], "archive is not a valid zip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := unpack(t, tt.data, DefaultPolicy())
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unpack() = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestUnpackLimits(t *testing.T) {
	small := DefaultPolicy()
	small.MaxUnpackedBytes = 1000
	small.MaxEntries = 3
	small.MaxPathLen = 20
	big := strings.Repeat("z", 600)
	tests := []struct {
		name    string
		members []member
		upload  int64
		kind    error
		want    string
	}{
		{name: "unpacked_bytes", members: []member{file("a", big), file("b", big)}, kind: ErrTooLarge, want: "archive unpacks to more than 1000 bytes"},
		{name: "exactly_at_limit", members: []member{file("a", big), file("b", big[:400])}},
		{name: "entries", members: []member{file("a", ""), file("b", ""), file("c", ""), file("d", "")}, kind: ErrTooLarge, want: "more than 3 entries"},
		{name: "path_length", members: []member{file(strings.Repeat("p", 21), "")}, kind: ErrInvalid, want: "path is 21 bytes, over the maximum 20"},
		{name: "symlink_target_length", members: []member{symlink("l", strings.Repeat("t", 21))}, kind: ErrInvalid, want: "target is over 20 bytes"},
		{name: "upload", members: []member{file("a", "")}, upload: 10, kind: ErrTooLarge, want: "over the maximum 10"},
	}
	for _, tt := range tests {
		for _, format := range []string{"tar_gz", "zip"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				p := small
				if tt.upload > 0 {
					p.MaxUploadBytes = tt.upload
				}
				dir, u, err := unpack(t, tarGzOrZip(t, format, tt.members), p)
				if tt.kind == nil {
					if err != nil {
						t.Fatalf("Unpack() = %v, want success", err)
					}
					if u.Bytes != p.MaxUnpackedBytes {
						t.Errorf("Unpack() bytes = %d, want %d", u.Bytes, p.MaxUnpackedBytes)
					}
					return
				}
				if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Unpack() = %v, want %v containing %q", err, tt.kind, tt.want)
				}
				if n := treeBytes(t, dir); n > p.MaxUnpackedBytes {
					t.Errorf("Unpack() wrote %d bytes, over the limit %d", n, p.MaxUnpackedBytes)
				}
			})
		}
	}
}

// TestUnpackBombStopsEarly unpacks a small archive that expands to far
// more than the limit, and checks it stopped at the limit.
func TestUnpackBombStopsEarly(t *testing.T) {
	p := DefaultPolicy()
	p.MaxUnpackedBytes = 1 << 20
	bomb := strings.Repeat("\x00", 64<<20)
	for _, format := range []string{"tar_gz", "zip"} {
		t.Run(format, func(t *testing.T) {
			data := tarGzOrZip(t, format, []member{file("bomb", bomb)})
			if len(data) > 1<<20 {
				t.Fatalf("test archive is %d bytes, meant to be small", len(data))
			}
			dir, _, err := unpack(t, data, p)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Unpack() = %v, want ErrTooLarge", err)
			}
			if n := treeBytes(t, dir); n > p.MaxUnpackedBytes {
				t.Errorf("Unpack() wrote %d bytes, over the limit %d", n, p.MaxUnpackedBytes)
			}
		})
	}
}

// TestUnpackBombInHeaders hides the bulk of a tar.gz in PAX header
// records, which are no file bytes: the cap on the decompressed stream
// must stop it.
func TestUnpackBombInHeaders(t *testing.T) {
	p := DefaultPolicy()
	p.MaxUnpackedBytes = 1 << 20
	p.MaxEntries = 100
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	comment := strings.Repeat("c", 500<<10)
	for i := range 20 {
		hdr := &tar.Header{
			Name: "f" + strings.Repeat("x", i), Typeflag: tar.TypeReg, Mode: 0o644,
			PAXRecords: map[string]string{"comment": comment}, Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err := unpack(t, buf.Bytes(), p)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Unpack() = %v, want ErrTooLarge", err)
	}
}

// treeBytes adds up the sizes of the regular files below dir.
func treeBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func TestUnpackCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := tarGz(t, file("a", "b"))
	_, err := Unpack(ctx, bytes.NewReader(data), int64(len(data)), DefaultPolicy(), t.TempDir())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Unpack(canceled) = %v, want context.Canceled", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("Unpack(canceled) = %v: a canceled unpack is not the upload's fault", err)
	}
}

// FuzzUnpack unpacks arbitrary bytes, seeded with valid and hostile zip
// and tar.gz archives. Whatever the input, Unpack must not panic, must
// write nothing outside its directory, must stay within the limits,
// must leave no link that resolves outside the tree, and must fail only
// with ErrInvalid or ErrTooLarge.
func FuzzUnpack(f *testing.F) {
	seeds := [][]member{
		{file("containerpub.yaml", "name: x"), file("a/b.go", "package b"), dir("c/")},
		{symlink("l", "a/b"), file("a/b", "x"), {name: "h", typ: tar.TypeLink, link: "a/b"}},
		{file("../x", "x")},
		{symlink("p/l", "../../x")},
		{file("a", strings.Repeat("a", 3000))},
	}
	for _, s := range seeds {
		f.Add(tarGz(f, s...))
		f.Add(zipOf(f, s...))
	}
	p := DefaultPolicy()
	p.MaxUnpackedBytes = 2048
	p.MaxEntries = 8
	p.MaxPathLen = 64
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "tree")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		u, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), p, dir)
		if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Unpack() = %v, want ErrInvalid or ErrTooLarge", err)
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("Unpack wrote outside its directory: %v", entries)
		}
		if n := treeBytes(t, dir); n > p.MaxUnpackedBytes {
			t.Fatalf("Unpack wrote %d bytes, over the limit %d", n, p.MaxUnpackedBytes)
		}
		if err != nil {
			return
		}
		if u.Entries > p.MaxEntries {
			t.Fatalf("Unpack() accepted %d entries, over %d", u.Entries, p.MaxEntries)
		}
		assertLinksInside(t, dir)
	})
}

// assertLinksInside resolves every symbolic link below dir with the
// kernel and checks it stays inside dir.
func assertLinksInside(t *testing.T, dir string) {
	t.Helper()
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil // dangling inside the tree is fine
		}
		if resolved != root && !strings.HasPrefix(resolved, root+string(filepath.Separator)) {
			t.Errorf("link %s resolves to %s, outside %s", p, resolved, root)
		}
		return nil
	})
}

func TestZipRecordBound(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 300 {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("f%d", i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	r := bytes.NewReader(data)
	if n, err := zipRecordBound(r, int64(len(data)), 1000); err != nil || n != 300 {
		t.Errorf("bound of a 300-entry zip = %d, %v; want 300", n, err)
	}
	if n, err := zipRecordBound(r, int64(len(data)), 10); err != nil || n <= 10 {
		t.Errorf("bound with limit 10 = %d, %v; want more than 10", n, err)
	}
	// Signatures cut by the 64 KiB read boundary are found once.
	for _, at := range []int{64<<10 - 3, 64<<10 - 2, 64<<10 - 1, 64 << 10} {
		b := make([]byte, 200<<10)
		copy(b[at:], zipDirSignature)
		if n, err := zipRecordBound(bytes.NewReader(b), int64(len(b)), 10); err != nil || n != 1 {
			t.Errorf("signature at %d: bound = %d, %v; want 1", at, n, err)
		}
	}
}

func FuzzZipRecordBound(f *testing.F) {
	f.Add([]byte("PK\x01\x02PK\x01\x02"), 1)
	f.Add([]byte("xxPK\x01"), 0)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		if limit < 0 || limit > 1<<20 {
			return
		}
		n, err := zipRecordBound(bytes.NewReader(data), int64(len(data)), limit)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Count(data, zipDirSignature)
		if (want <= limit && n != want) || (want > limit && n <= limit) {
			t.Fatalf("bound = %d, signatures = %d, limit %d", n, want, limit)
		}
	})
}

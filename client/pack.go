package client

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// PackWarnSize is the size of a source tree, in bytes of file content,
// past which Pack warns. The server enforces the real limit.
const PackWarnSize = 5 << 20

// ErrUnsafeLink is wrapped by Pack's error for a symbolic link that is
// absolute or points outside the tree: unpacked on the server it would
// point somewhere else, or expose the server's files to the build.
var ErrUnsafeLink = errors.New("symlink points outside the source tree")

// PackResult describes an archive written by Pack.
type PackResult struct {
	// Hash is the TreeHash of the packed files and links, the value the
	// backend computes from the archive and reports as SourceHash.
	Hash string
	// Files counts the regular files and symbolic links packed.
	Files int
	// Bytes is the total size of the packed files, uncompressed.
	Bytes int64
	// Warnings are for the person deploying: a file that looks like a
	// secret, a large tree, a special file left out.
	Warnings []string
}

// Folders Pack leaves out at any depth: version control data and the
// dependency caches of other toolchains, never part of a function.
var skipDirsAnywhere = map[string]bool{
	".git": true, ".hg": true, ".svn": true,
	".dart_tool": true, "node_modules": true,
}

// Folders Pack leaves out at the root only, where they hold local build
// output. Deeper down, a Go package may well be called build.
var skipDirsAtRoot = map[string]bool{"build": true, "bin": true}

// packEpoch is the time written on every entry, so that an archive
// depends only on the tree's content.
var packEpoch = time.Unix(0, 0)

// packEntry is one file, directory or link to pack.
type packEntry struct {
	rel    string // slash path relative to the root
	osPath string
	mode   fs.FileMode
	size   int64
	target string // a link's target, slash separated
}

// Pack writes the source tree at dir to w as a deterministic tar.gz:
// entries in path order, times, owners and permissions beyond the
// executable bit cleared. It leaves out version control folders,
// .dart_tool/, node_modules/, a root build/ and bin/, .DS_Store files and
// whatever the tree's IgnoreFile lists. A symbolic link pointing outside
// the tree is an error wrapping ErrUnsafeLink.
func Pack(dir string, w io.Writer) (PackResult, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return PackResult{}, fmt.Errorf("pack %s: %w", dir, err)
	}
	ignore, err := readIgnoreFile(root)
	if err != nil {
		return PackResult{}, fmt.Errorf("pack %s: %w", dir, err)
	}
	var res PackResult
	entries, err := collect(root, ignore, &res)
	if err != nil {
		return PackResult{}, fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := writeArchive(w, entries, &res); err != nil {
		return PackResult{}, fmt.Errorf("pack %s: %w", dir, err)
	}
	if res.Bytes > PackWarnSize {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"the source tree holds %.1f MiB of files, over %d MiB: the server may refuse it; "+
				"list what the build does not need in %s",
			float64(res.Bytes)/(1<<20), PackWarnSize>>20, IgnoreFile))
	}
	return res, nil
}

// readIgnoreFile reads the tree's ignore file; a missing one ignores
// nothing.
func readIgnoreFile(root string) (ignoreList, error) {
	data, err := os.ReadFile(filepath.Join(root, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	return parseIgnore(data)
}

// collect walks the tree and returns the entries to pack in path order.
func collect(root string, ignore ignoreList, res *PackResult) ([]packEntry, error) {
	var entries []packEntry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("relative path of %s: %w", p, err)
		}
		rel = filepath.ToSlash(rel)
		if skipped(rel, d.IsDir(), ignore) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		e, ok, err := newEntry(p, rel, d, res)
		if ok {
			entries = append(entries, e)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// skipped reports whether an entry is left out by the built-in rules or
// the ignore file.
func skipped(rel string, isDir bool, ignore ignoreList) bool {
	name := path.Base(rel)
	if isDir && (skipDirsAnywhere[name] || (skipDirsAtRoot[name] && rel == name)) {
		return true
	}
	if !isDir && name == ".DS_Store" {
		return true
	}
	return ignore.match(rel, isDir)
}

// newEntry describes one walked entry; ok is false for one left out.
func newEntry(p, rel string, d fs.DirEntry, res *PackResult) (e packEntry, ok bool, err error) {
	e = packEntry{rel: rel, osPath: p}
	switch t := d.Type(); {
	case t.IsDir():
		e.mode = fs.ModeDir | 0o755
	case t&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return e, false, fmt.Errorf("read link %s: %w", rel, err)
		}
		if err := checkLink(rel, target); err != nil {
			return e, false, err
		}
		e.mode, e.target = fs.ModeSymlink|0o777, filepath.ToSlash(target)
	case t.IsRegular():
		info, err := d.Info()
		if err != nil {
			return e, false, fmt.Errorf("stat %s: %w", rel, err)
		}
		e.mode, e.size = 0o644, info.Size()
		if info.Mode()&0o111 != 0 {
			e.mode = 0o755
		}
		if isSecretName(path.Base(rel)) {
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"packing %s, which looks like a secret; list it in %s to leave it out", rel, IgnoreFile))
		}
	default:
		res.Warnings = append(res.Warnings, fmt.Sprintf("left out %s: not a regular file, directory or link", rel))
		return e, false, nil
	}
	return e, true, nil
}

// checkLink refuses a link whose target is absolute or climbs out of the
// tree. Every link is checked this way, so following several links in a
// row cannot leave the tree either.
func checkLink(rel, target string) error {
	t := filepath.ToSlash(target)
	if filepath.IsAbs(target) || path.IsAbs(t) {
		return fmt.Errorf("%w: %s -> %s is absolute", ErrUnsafeLink, rel, target)
	}
	resolved := path.Join(path.Dir(rel), t)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("%w: %s -> %s", ErrUnsafeLink, rel, target)
	}
	return nil
}

// isSecretName reports whether a file name looks like credentials that
// should not be uploaded.
func isSecretName(name string) bool {
	n := strings.ToLower(name)
	switch {
	case n == ".env", strings.HasPrefix(n, ".env."):
		return true
	case strings.HasSuffix(n, ".pem"), strings.HasSuffix(n, ".key"):
		return true
	case strings.HasPrefix(n, "credentials"):
		return true
	}
	for _, key := range []string{"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"} {
		if strings.HasPrefix(n, key) {
			return true
		}
	}
	return false
}

// writeArchive writes the entries as a tar.gz and hashes them on the way.
func writeArchive(w io.Writer, entries []packEntry, res *PackResult) error {
	// gzip's header carries no name or time unless set, so it is as
	// deterministic as the tar stream inside it.
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	hash := NewTreeHash()
	for _, e := range entries {
		if err := writeEntry(tw, hash, e); err != nil {
			return err
		}
		if !e.mode.IsDir() {
			res.Files++
			res.Bytes += e.size
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("finish gzip: %w", err)
	}
	res.Hash = hash.Sum()
	return nil
}

// writeEntry writes one entry and adds it to the hash exactly as the
// backend will see it after unpacking.
func writeEntry(tw *tar.Writer, hash *TreeHash, e packEntry) error {
	hdr := &tar.Header{
		Name:    e.rel,
		Mode:    int64(e.mode.Perm()),
		ModTime: packEpoch,
		Format:  tar.FormatPAX,
	}
	switch {
	case e.mode.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, e.rel+"/"
		return writeHeader(tw, hdr)
	case e.mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.target
		hash.AddSymlink(e.rel, e.target)
		return writeHeader(tw, hdr)
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, e.size
	if err := writeHeader(tw, hdr); err != nil {
		return err
	}
	f, err := os.Open(e.osPath)
	if err != nil {
		return fmt.Errorf("open %s: %w", e.rel, err)
	}
	defer func() { _ = f.Close() }() // only read
	// The size was fixed by the header: a file that grew since it was
	// walked is cut there, and one that shrank fails at the next header.
	content := io.TeeReader(io.LimitReader(f, e.size), tw)
	if err := hash.AddFile(e.rel, e.mode, content); err != nil {
		return fmt.Errorf("pack %s: %w", e.rel, err)
	}
	return nil
}

// writeHeader writes a tar header, naming the entry in the error.
func writeHeader(tw *tar.Writer, hdr *tar.Header) error {
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s: %w", hdr.Name, err)
	}
	return nil
}

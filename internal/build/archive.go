package build

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerpub/containerpub/client"
)

// Unpacked describes a source tree Unpack wrote.
type Unpacked struct {
	// Hash is the client.TreeHash of the tree.
	Hash string
	// Entries counts the files, directories and links of the archive.
	Entries int
	// Bytes is the total size of the files written.
	Bytes int64
}

// Archive formats Unpack recognises by their first bytes.
var (
	zipMagic      = []byte("PK\x03\x04")
	emptyZipMagic = []byte("PK\x05\x06")
	gzipMagic     = []byte{0x1f, 0x8b}
)

// maxSymlinkHops bounds how many links a path may pass through, as the
// kernel's own limit does; a chain longer than that is a loop.
const maxSymlinkHops = 40

// maxNameComponent is the longest file name Linux file systems take.
const maxNameComponent = 255

// Unpack writes the zip or tar.gz archive in r (size bytes) into dir, an
// existing empty directory, within the limits of p, and returns the
// tree's hash. It refuses entries that would land outside dir, special
// files, duplicates, and links whose target leaves the tree; relative
// symbolic links that stay inside the tree are kept, and a tar hard link
// to an earlier file becomes a copy of it. Modes become 0644, or 0755 when
// any executable bit is set; owners and times are dropped. Errors for a
// bad archive wrap ErrInvalid or ErrTooLarge and name the entry; on error
// dir holds a partial tree that the caller removes.
func Unpack(ctx context.Context, r io.ReaderAt, size int64, p Policy, dir string) (Unpacked, error) {
	if size > p.MaxUploadBytes {
		return Unpacked{}, tooLarge(fmt.Sprintf("archive is %d bytes, over the maximum %d", size, p.MaxUploadBytes))
	}
	magic := make([]byte, 4)
	n, _ := r.ReadAt(magic, 0) // a short read leaves a prefix that matches nothing
	magic = magic[:n]
	u := newUnpacker(ctx, p, dir)
	var err error
	switch {
	case bytes.HasPrefix(magic, zipMagic), bytes.HasPrefix(magic, emptyZipMagic):
		err = u.unzip(r, size)
	case bytes.HasPrefix(magic, gzipMagic):
		err = u.untar(io.NewSectionReader(r, 0, size))
	default:
		return Unpacked{}, invalid("archive is not zip or tar.gz")
	}
	if err == nil {
		err = u.checkSymlinks()
	}
	if err != nil {
		return Unpacked{}, err
	}
	return Unpacked{Hash: u.hash.Sum(), Entries: u.entries, Bytes: u.written}, nil
}

// entryKind is what a path in the tree is.
type entryKind int

const (
	kindDir entryKind = iota + 1
	kindFile
	kindSymlink
)

// entry is one archive member, independent of the archive format.
type entry struct {
	name string // as in the archive
	kind entryKind
	// hardlink names an earlier file this entry copies (tar only).
	hardlink string
	mode     fs.FileMode
	// body yields a file's content or a symbolic link's target.
	body io.Reader
}

// unpacker holds the state of one Unpack.
type unpacker struct {
	ctx  context.Context
	p    Policy
	dir  string
	hash *client.TreeHash
	// kinds holds every path made so far, parents included; explicit
	// holds the paths the archive named, to find duplicates.
	kinds    map[string]entryKind
	explicit map[string]bool
	links    map[string]string
	entries  int
	written  int64
}

func newUnpacker(ctx context.Context, p Policy, dir string) *unpacker {
	return &unpacker{
		ctx:      ctx,
		p:        p,
		dir:      dir,
		hash:     client.NewTreeHash(),
		kinds:    make(map[string]entryKind),
		explicit: make(map[string]bool),
		links:    make(map[string]string),
	}
}

func (u *unpacker) unzip(r io.ReaderAt, size int64) error {
	// archive/zip reads the whole central directory into memory, however
	// many records it holds: bound them first. The bound also counts
	// record signatures inside stored files (a zip within the zip), so
	// it refuses only well past the limit, and the exact count below
	// decides the rest.
	n, err := zipRecordBound(r, size, zipBoundFactor*u.p.MaxEntries)
	if err != nil {
		return fmt.Errorf("read zip: %w", err)
	}
	if n > zipBoundFactor*u.p.MaxEntries {
		return u.tooManyEntries()
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return invalid(fmt.Sprintf("archive is not a valid zip: %v", err))
	}
	if len(zr.File) > u.p.MaxEntries {
		return u.tooManyEntries()
	}
	for _, f := range zr.File {
		if err := u.unzipEntry(f); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) unzipEntry(f *zip.File) error {
	mode := f.Mode()
	e := entry{name: f.Name, mode: mode}
	switch {
	case mode.IsDir():
		e.kind = kindDir
	case mode.IsRegular():
		e.kind = kindFile
	case mode&fs.ModeSymlink != 0:
		e.kind = kindSymlink
	default:
		return u.special(f.Name, mode)
	}
	if e.kind != kindDir {
		rc, err := f.Open()
		if err != nil {
			return invalid(fmt.Sprintf("archive entry %q: %v", short(f.Name), err))
		}
		defer func() { _ = rc.Close() }() // only read
		e.body = rc
	}
	return u.add(e)
}

func (u *unpacker) untar(r io.Reader) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return invalid(fmt.Sprintf("archive is not a valid gzip: %v", err))
	}
	defer func() { _ = gz.Close() }() // only read
	// Tar headers and the data of skipped entries do not count as file
	// bytes, so the decompressed stream gets its own cap: a gzip bomb
	// hidden in a directory entry's data stops here.
	limit := u.p.MaxUnpackedBytes + int64(u.p.MaxEntries)*4096 + 1<<20
	stream := &limitReader{r: gz, left: limit}
	tr := tar.NewReader(stream)
	for first := true; ; first = false {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if stream.exceeded {
			return u.unpackedTooLarge()
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			if first {
				return invalid("archive is not zip or tar.gz: the gzip stream does not hold a tar")
			}
			return invalid(fmt.Sprintf("archive is not a valid tar.gz: %v", err))
		}
		if err := u.untarEntry(hdr, tr); err != nil {
			if stream.exceeded {
				return u.unpackedTooLarge()
			}
			return err
		}
	}
}

func (u *unpacker) untarEntry(hdr *tar.Header, tr *tar.Reader) error {
	e := entry{name: hdr.Name, mode: fs.FileMode(hdr.Mode & int64(fs.ModePerm))}
	switch hdr.Typeflag {
	case tar.TypeReg:
		e.kind, e.body = kindFile, tr
	case tar.TypeDir:
		e.kind = kindDir
	case tar.TypeSymlink:
		e.kind, e.body = kindSymlink, strings.NewReader(hdr.Linkname)
	case tar.TypeLink:
		e.kind, e.hardlink = kindFile, hdr.Linkname
	case tar.TypeXGlobalHeader:
		return nil // metadata for the whole archive, nothing to write
	case tar.TypeChar, tar.TypeBlock:
		return u.special(hdr.Name, fs.ModeDevice)
	case tar.TypeFifo:
		return u.special(hdr.Name, fs.ModeNamedPipe)
	default:
		return invalid(fmt.Sprintf("archive entry %q: unsupported tar entry type %q", short(hdr.Name), hdr.Typeflag))
	}
	return u.add(e)
}

// special refuses an entry that is not a file, directory or link.
func (u *unpacker) special(name string, mode fs.FileMode) error {
	what := "a special file"
	switch {
	case mode&fs.ModeDevice != 0:
		what = "a device file"
	case mode&fs.ModeNamedPipe != 0:
		what = "a fifo"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	}
	return invalid(fmt.Sprintf("archive entry %q is %s: only files, directories and links are allowed", short(name), what))
}

func (u *unpacker) tooManyEntries() error {
	return tooLarge(fmt.Sprintf("archive has more than %d entries", u.p.MaxEntries))
}

func (u *unpacker) unpackedTooLarge() error {
	return tooLarge(fmt.Sprintf("archive unpacks to more than %d bytes", u.p.MaxUnpackedBytes))
}

// add checks one entry and writes it below dir.
func (u *unpacker) add(e entry) error {
	if err := u.ctx.Err(); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	u.entries++
	if u.entries > u.p.MaxEntries {
		return u.tooManyEntries()
	}
	name, err := u.cleanName(e.name)
	if err != nil || name == "" {
		return err // "" is the root itself, as in "./"
	}
	if err := u.claim(name, e); err != nil {
		return err
	}
	switch {
	case e.kind == kindDir:
		return u.mkdir(name)
	case e.kind == kindSymlink:
		return u.symlink(name, e)
	case e.hardlink != "":
		return u.hardlink(name, e)
	default:
		return u.writeFile(name, e.mode, e.body)
	}
}

// cleanName turns an archive path into a clean slash-separated relative
// path, or says what is wrong with it.
func (u *unpacker) cleanName(raw string) (string, error) {
	bad := func(why string) error {
		return invalid(fmt.Sprintf("archive entry %q: %s", short(raw), why))
	}
	if len(raw) > u.p.MaxPathLen {
		return "", bad(fmt.Sprintf("path is %d bytes, over the maximum %d", len(raw), u.p.MaxPathLen))
	}
	if strings.ContainsAny(raw, "\\\x00") {
		return "", bad("path holds a backslash or NUL byte")
	}
	if strings.IndexFunc(raw, isControl) >= 0 {
		return "", bad("path holds a control character")
	}
	if strings.HasPrefix(raw, "/") {
		return "", bad("absolute path")
	}
	name := raw
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	name = strings.TrimSuffix(name, "/")
	if name == "" || name == "." {
		return "", nil
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", bad("path has a .. component")
		}
		if len(part) > maxNameComponent {
			return "", bad(fmt.Sprintf("a path component is over %d bytes", maxNameComponent))
		}
	}
	if !fs.ValidPath(name) {
		return "", bad("path is not clean: it has empty or . components")
	}
	return name, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// claim records name as made by e, refusing duplicates and paths whose
// parent is not a directory, and creates missing parents.
func (u *unpacker) claim(name string, e entry) error {
	if u.explicit[name] {
		return invalid(fmt.Sprintf("archive entry %q appears twice", short(name)))
	}
	if k, ok := u.kinds[name]; ok && (k != kindDir || e.kind != kindDir) {
		return invalid(fmt.Sprintf("archive entry %q: a directory of that name is already in the archive", short(name)))
	}
	u.explicit[name] = true
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		switch u.kinds[parent] {
		case kindDir:
		case 0:
			if err := u.mkdir(parent); err != nil {
				return err
			}
		default:
			return invalid(fmt.Sprintf("archive entry %q: %q is not a directory", short(name), short(parent)))
		}
	}
	return nil
}

func (u *unpacker) mkdir(name string) error {
	if u.kinds[name] == kindDir {
		return nil
	}
	// Every directory of the tree is 0755, like its files' normalMode;
	// the tree itself lies in the caller's private temporary directory.
	//nolint:gosec // G301: the normal mode of the tree, kept private by its parent.
	if err := os.Mkdir(u.path(name), 0o755); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	// Chmod undoes the umask, so the tree looks the same on every host.
	//nolint:gosec // G302: the normal mode of the tree, kept private by its parent.
	if err := os.Chmod(u.path(name), 0o755); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	u.kinds[name] = kindDir
	return nil
}

func (u *unpacker) path(name string) string {
	return filepath.Join(u.dir, filepath.FromSlash(name))
}

// normalMode is 0755 for a mode with any executable bit, else 0644.
func normalMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// writeFile writes a regular file, hashing it and counting its bytes
// against the unpacked limit as they stream.
func (u *unpacker) writeFile(name string, mode fs.FileMode, body io.Reader) error {
	mode = normalMode(mode)
	// O_EXCL and O_NOFOLLOW: never write through anything already there.
	f, err := os.OpenFile(u.path(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	// On success the Close below reports; on error the file is left
	// for the caller, who removes the whole tree.
	defer func() { _ = f.Close() }()
	lr := &limitReader{r: body, left: u.p.MaxUnpackedBytes - u.written}
	err = u.hash.AddFile(name, mode, io.TeeReader(lr, f))
	u.written += lr.read
	switch {
	case lr.exceeded:
		return u.unpackedTooLarge()
	case lr.err != nil:
		return invalid(fmt.Sprintf("archive entry %q: %v", short(name), lr.err))
	case err != nil:
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	u.kinds[name] = kindFile
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	return nil
}

// hardlink copies an earlier regular file of the archive: a copy keeps
// the tree free of links to anything outside it.
func (u *unpacker) hardlink(name string, e entry) error {
	target := strings.TrimSuffix(strings.TrimPrefix(e.hardlink, "./"), "/")
	if !fs.ValidPath(target) || u.kinds[target] != kindFile || !u.explicit[target] {
		return invalid(fmt.Sprintf("archive entry %q: hard link to %q, which is not an earlier file of the archive",
			short(name), short(e.hardlink)))
	}
	src, err := os.OpenFile(u.path(target), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	defer func() { _ = src.Close() }() // only read
	return u.writeFile(name, e.mode, src)
}

// symlink makes a relative symbolic link; checkSymlinks later verifies
// that every link resolves inside the tree.
func (u *unpacker) symlink(name string, e entry) error {
	lr := &limitReader{r: e.body, left: int64(u.p.MaxPathLen)}
	b, err := io.ReadAll(lr)
	bad := func(why string) error {
		return invalid(fmt.Sprintf("archive entry %q: symbolic link %s", short(name), why))
	}
	switch {
	case lr.exceeded:
		return bad(fmt.Sprintf("target is over %d bytes", u.p.MaxPathLen))
	case err != nil:
		return invalid(fmt.Sprintf("archive entry %q: %v", short(name), err))
	}
	target := string(b)
	switch {
	case target == "":
		return bad("has an empty target")
	case strings.ContainsAny(target, "\\\x00") || strings.IndexFunc(target, isControl) >= 0:
		return bad("target holds a backslash, NUL or control character")
	case strings.HasPrefix(target, "/"):
		return bad(fmt.Sprintf("points outside the archive: %q is absolute", short(target)))
	}
	if err := os.Symlink(target, u.path(name)); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	u.kinds[name] = kindSymlink
	u.links[name] = target
	u.hash.AddSymlink(name, target)
	return nil
}

// checkSymlinks follows every link through the tree's other links, the
// way the kernel would, and refuses any that leaves the tree or loops.
// Checking each link's target alone would not do: a link through another
// link that points at a parent can climb out.
func (u *unpacker) checkSymlinks() error {
	for name := range u.links {
		if err := u.resolveLink(name); err != nil {
			return invalid(fmt.Sprintf("archive entry %q: symbolic link %s", short(name), err))
		}
	}
	return nil
}

func (u *unpacker) resolveLink(name string) error {
	resolved := strings.Split(path.Dir(name), "/")
	if resolved[0] == "." {
		resolved = nil
	}
	pending := strings.Split(u.links[name], "/")
	for hops := 0; len(pending) > 0; {
		part := pending[0]
		pending = pending[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(resolved) == 0 {
				return errors.New("points outside the archive")
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		target, ok := u.links[strings.Join(append(resolved, part), "/")]
		if !ok {
			resolved = append(resolved, part)
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return errors.New("is part of a loop")
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return nil
}

// limitReader reads at most left bytes and notes whether r held more.
// It keeps r's own errors apart, so a corrupt entry is not mistaken for
// a large one.
type limitReader struct {
	r        io.Reader
	left     int64
	read     int64
	exceeded bool
	err      error
}

var errLimit = errors.New("size limit reached")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe for one more byte to tell "exactly at the limit" from
		// "over it".
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.exceeded = true
			return 0, errLimit
		}
		return 0, l.note(err)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.read += int64(n)
	return n, l.note(err)
}

func (l *limitReader) note(err error) error {
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = err
	}
	return err
}

// short cuts a name for an error message, which should stay readable
// even when the archive's names are not.
func short(s string) string {
	const maxLen = 120
	if len(s) <= maxLen {
		return s
	}
	return s[:maxLen] + "..."
}

// zipBoundFactor is how far past the entry limit zipRecordBound's bound
// may go before an archive is refused unread: a few MiB of records at
// most.
const zipBoundFactor = 4

// zipDirSignature opens every record of a zip's central directory.
var zipDirSignature = []byte("PK\x01\x02")

// zipRecordBound returns how many times the central directory record's
// signature appears in the first size bytes of r, counting no further
// than limit+1. Every record a zip reader finds starts with it, so the
// count bounds the records of any reading of the archive, whatever its
// end record claims, without parsing anything.
func zipRecordBound(r io.ReaderAt, size int64, limit int) (int, error) {
	sig := zipDirSignature
	buf := make([]byte, 64<<10)
	n := 0
	carry := 0 // bytes kept from the previous read, to find a split signature
	for off := int64(0); off < size; {
		want := min(int64(len(buf)-carry), size-off)
		got, err := r.ReadAt(buf[carry:carry+int(want)], off)
		if got == 0 && err != nil {
			return n, err
		}
		off += int64(got)
		data := buf[:carry+got]
		n += bytes.Count(data, sig)
		if n > limit {
			return n, nil
		}
		// A signature cut by the end of data is found on the next round;
		// one ending here is not counted twice, as the kept tail is
		// shorter than a signature.
		carry = min(len(sig)-1, len(data))
		copy(buf, data[len(data)-carry:])
	}
	return n, nil
}

// Package cpio writes newc ("070701") cpio archives, the format the Linux
// kernel unpacks as an initramfs. Archives are reproducible: the same
// entries always give the same bytes (fixed mtime, uid/gid 0, inode numbers
// assigned in write order, entries sorted by Write), and names that could
// escape the archive root are refused.
package cpio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Mode bits of the newc c_mode field (the file type part).
const (
	typeDir     = 0o040000
	typeRegular = 0o100000
	typeSymlink = 0o120000
	typeChar    = 0o020000
)

// ErrUnsafeName is returned for a name that is empty, contains NUL, or
// escapes the archive root ("..", or an absolute path leaving "/").
var ErrUnsafeName = errors.New("unsafe cpio entry name")

// ErrDuplicate is returned when two entries normalise to the same name.
var ErrDuplicate = errors.New("duplicate cpio entry")

// Entry is one archive member. Mode carries the file type (fs.ModeDir,
// fs.ModeSymlink, fs.ModeDevice|fs.ModeCharDevice, or none for a regular
// file) and the permission bits (fs.ModeSetuid, fs.ModeSetgid and
// fs.ModeSticky included). Owner is always root.
type Entry struct {
	Name   string      // path inside the archive; a leading "/" is allowed
	Mode   fs.FileMode // type and permissions
	Data   []byte      // content of a regular file
	Target string      // target of a symlink (stored verbatim)
	Major  uint32      // device major number for a character device
	Minor  uint32      // device minor number for a character device
}

// CleanName returns the canonical archive name of name ("a/b", no leading
// slash, "." for the root) or an error wrapping ErrUnsafeName.
func CleanName(name string) (string, error) {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: %q", ErrUnsafeName, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q", ErrUnsafeName, name)
		}
	}
	c := strings.TrimPrefix(path.Clean("/"+name), "/")
	if c == "" {
		c = "."
	}
	return c, nil
}

// Writer streams entries to an archive. Use Write for a whole sorted,
// reproducible archive; use Writer directly to control the order.
type Writer struct {
	w      io.Writer
	ino    uint32
	off    int64
	seen   map[string]bool
	closed bool
}

// NewWriter returns a Writer appending to w. Call Close to write the trailer.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, seen: map[string]bool{}}
}

// WriteEntry appends one entry. Its name is validated and cleaned with
// CleanName; a repeated name is refused with ErrDuplicate.
func (cw *Writer) WriteEntry(e Entry) error {
	if cw.closed {
		return errors.New("cpio: write after close")
	}
	name, err := CleanName(e.Name)
	if err != nil {
		return err
	}
	if cw.seen[name] {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	mode, data, err := encodeMode(e)
	if err != nil {
		return fmt.Errorf("cpio entry %q: %w", name, err)
	}
	cw.seen[name] = true
	cw.ino++
	nlink := uint32(1)
	if e.Mode.IsDir() {
		nlink = 2
	}
	var major, minor uint32
	if mode&0o170000 == typeChar {
		major, minor = e.Major, e.Minor
	}
	return cw.write(cw.ino, mode, nlink, major, minor, name, data)
}

func encodeMode(e Entry) (uint32, []byte, error) {
	perm := uint32(e.Mode.Perm())
	if e.Mode&fs.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if e.Mode&fs.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if e.Mode&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	switch t := e.Mode.Type(); t {
	case 0:
		return typeRegular | perm, e.Data, nil
	case fs.ModeDir:
		return typeDir | perm, nil, nil
	case fs.ModeSymlink:
		if e.Target == "" || strings.IndexByte(e.Target, 0) >= 0 {
			return 0, nil, fmt.Errorf("%w: symlink target %q", ErrUnsafeName, e.Target)
		}
		return typeSymlink | perm, []byte(e.Target), nil
	case fs.ModeDevice | fs.ModeCharDevice:
		return typeChar | perm, nil, nil
	default:
		return 0, nil, fmt.Errorf("unsupported file type %v", t)
	}
}

// The mtime of every entry: fixed, so archives are reproducible.
const mtime = 0

func (cw *Writer) write(ino, mode, nlink, rmajor, rminor uint32, name string, data []byte) error {
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, mtime, len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = pad(buf, cw.off)
	if err := cw.emit(buf); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if err := cw.emit(data); err != nil {
		return err
	}
	return cw.emit(pad(nil, cw.off))
}

// pad appends the NULs that align off+len(buf) to 4 bytes.
func pad(buf []byte, off int64) []byte {
	for (off+int64(len(buf)))%4 != 0 {
		buf = append(buf, 0)
	}
	return buf
}

func (cw *Writer) emit(b []byte) error {
	n, err := cw.w.Write(b)
	cw.off += int64(n)
	if err != nil {
		return fmt.Errorf("cpio: %w", err)
	}
	return nil
}

// Close writes the TRAILER!!! entry. It does not close the underlying writer.
func (cw *Writer) Close() error {
	if cw.closed {
		return nil
	}
	cw.closed = true
	return cw.write(0, 0, 1, 0, 0, "TRAILER!!!", nil)
}

// Write writes a complete archive of entries to w: names are validated and
// cleaned, missing parent directories are added (mode 0755), entries are
// sorted by name so parents come before children, and the trailer is
// appended. The same entries in any order give the same bytes.
func Write(w io.Writer, entries []Entry) error {
	byName := make(map[string]Entry, len(entries))
	for _, e := range entries {
		name, err := CleanName(e.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue // the root exists already in the kernel's rootfs
		}
		if _, dup := byName[name]; dup {
			return fmt.Errorf("%w: %q", ErrDuplicate, name)
		}
		e.Name = name
		byName[name] = e
	}
	for name := range byName {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := byName[dir]; !ok {
				byName[dir] = Entry{Name: dir, Mode: fs.ModeDir | 0o755}
			}
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	cw := NewWriter(w)
	for _, name := range names {
		if p := path.Dir(name); p != "." && !byName[p].Mode.IsDir() {
			return fmt.Errorf("cpio entry %q: parent %q is not a directory", name, p)
		}
		if err := cw.WriteEntry(byName[name]); err != nil {
			return err
		}
	}
	return cw.Close()
}

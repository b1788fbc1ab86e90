package image

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/smolvm/smolvm/internal/cpio"
)

// ModulesList is the initrd file listing module paths in load order.
const ModulesList = "etc/smolvm/modules"

// initrdEntries lays out the initrd as docs/guest.md says: /init (the
// agent), the modules under lib/modules/<kver>/, etc/smolvm/modules, the
// mount points and a /dev/console node for the kernel to open.
func initrdEntries(agent []byte, kver string, mods []loadedModule) ([]cpio.Entry, []string) {
	entries := []cpio.Entry{
		{Name: "init", Mode: 0o755, Data: agent},
		{Name: "dev/console", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600, Major: 5, Minor: 1},
		{Name: "dev", Mode: fs.ModeDir | 0o755},
		{Name: "proc", Mode: fs.ModeDir | 0o555},
		{Name: "sys", Mode: fs.ModeDir | 0o555},
		{Name: "newroot", Mode: fs.ModeDir | 0o755},
		{Name: "run", Mode: fs.ModeDir | 0o755},
		{Name: "tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}
	var list []string
	var sb strings.Builder
	for _, m := range mods {
		p := path.Join("lib/modules", kver, m.Rel)
		list = append(list, p)
		sb.WriteString(p + "\n")
		entries = append(entries, cpio.Entry{Name: p, Mode: 0o644, Data: m.Data})
	}
	entries = append(entries, cpio.Entry{Name: ModulesList, Mode: 0o644, Data: []byte(sb.String())})
	return entries, list
}

// writeInitrd writes the gzip-compressed cpio archive to dst. The bytes
// depend only on the inputs (gzip header without name or mtime).
func writeInitrd(dst string, entries []cpio.Entry) (err error) {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644) //nolint:gosec // image files are world-readable
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := cpio.Write(zw, entries); err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

package image

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// cpioRec is one member of an initrd, as the kernel would read it.
type cpioRec struct {
	mode, uid, gid, mtime, ino, rmajor, rminor uint32
	data                                       []byte
}

// readInitrd gunzips and parses a newc archive strictly (test oracle
// independent of the writer's code), returning members by name and order.
func readInitrd(t *testing.T, path string) (map[string]cpioRec, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]cpioRec{}
	var order []string
	off := 0
	align := func(n int) int { return (n + 3) &^ 3 }
	for {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			t.Fatalf("bad cpio header at %d", off)
		}
		var h [13]uint32
		for i := range h {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			h[i] = uint32(v)
		}
		start := off + 110
		name := string(b[start : start+int(h[11])-1])
		off = align(start + int(h[11]))
		data := b[off : off+int(h[6])]
		off = align(off + int(h[6]))
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return recs, order
		}
		recs[name] = cpioRec{ino: h[0], mode: h[1], uid: h[2], gid: h[3], mtime: h[5], rmajor: h[9], rminor: h[10], data: data}
		order = append(order, name)
	}
}

// debugfs runs one read-only debugfs request against an ext4 image.
func debugfs(t *testing.T, img, req string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("debugfs", "-R", req, img)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("debugfs -R %q: %v\n%s", req, err, errb.String())
	}
	return out.String()
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	s, err := hashFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fmtSize(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

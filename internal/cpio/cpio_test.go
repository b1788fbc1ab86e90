package cpio

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sample() []Entry {
	return []Entry{
		{Name: "/init", Mode: 0o755, Data: []byte("#!/bin/sh\necho hi\n")},
		{Name: "etc/smolvm/modules", Mode: 0o644, Data: []byte("lib/modules/k/a.ko\n")},
		{Name: "lib/modules/k/a.ko", Mode: 0o644, Data: []byte{0x7f, 'E', 'L', 'F', 0, 1}},
		{Name: "bin/sh", Mode: fs.ModeSymlink | 0o777, Target: "/init"},
		{Name: "dev/console", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600, Major: 5, Minor: 1},
		{Name: "tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{Name: "newroot", Mode: fs.ModeDir | 0o755},
	}
}

func archive(t *testing.T, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, entries); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	got := archive(t, sample())
	golden := filepath.Join("testdata", "sample.cpio")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("archive differs from %s (%d vs %d bytes); rerun with -update if intended", golden, len(got), len(want))
	}
}

func TestReproducibleAnyOrder(t *testing.T) {
	a := archive(t, sample())
	rev := sample()
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b := archive(t, rev)
	if !bytes.Equal(a, b) {
		t.Fatal("same entries in another order gave different bytes")
	}
	if len(a)%4 != 0 {
		t.Fatalf("archive length %d not 4-aligned", len(a))
	}
}

// TestReadBack parses the archive with the test reader and checks every
// header field the kernel uses.
func TestReadBack(t *testing.T) {
	recs, err := readAll(archive(t, sample()))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]record{}
	var names []string
	for i, r := range recs {
		if r.ino != uint32(i+1) {
			t.Errorf("%s: inode %d, want %d (write order)", r.name, r.ino, i+1)
		}
		if r.uid != 0 || r.gid != 0 || r.mtime != 0 {
			t.Errorf("%s: uid %d gid %d mtime %d, want zeros", r.name, r.uid, r.gid, r.mtime)
		}
		byName[r.name] = r
		names = append(names, r.name)
	}
	want := "bin bin/sh dev dev/console etc etc/smolvm etc/smolvm/modules init lib lib/modules lib/modules/k lib/modules/k/a.ko newroot tmp"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("names:\n got %s\nwant %s", got, want)
	}
	cases := []struct {
		name string
		mode uint32
		data string
	}{
		{"init", 0o100755, "#!/bin/sh\necho hi\n"},
		{"bin", 0o040755, ""},
		{"bin/sh", 0o120777, "/init"},
		{"dev/console", 0o020600, ""},
		{"tmp", 0o041777, ""},
	}
	for _, c := range cases {
		r := byName[c.name]
		if r.mode != c.mode || string(r.data) != c.data {
			t.Errorf("%s: mode %o data %q, want %o %q", c.name, r.mode, r.data, c.mode, c.data)
		}
	}
	if c := byName["dev/console"]; c.rmajor != 5 || c.rminor != 1 {
		t.Errorf("dev/console: %d:%d, want 5:1", c.rmajor, c.rminor)
	}
}

// TestBusyboxLists checks that a real cpio implementation reads the archive.
func TestBusyboxLists(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed")
	}
	cmd := exec.Command(bb, "cpio", "-t")
	cmd.Stdin = bytes.NewReader(archive(t, sample()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("busybox cpio -t: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "lib/modules/k/a.ko\n") || !strings.Contains(string(out), "dev/console\n") {
		t.Fatalf("busybox cpio -t output lacks entries:\n%s", out)
	}
}

func TestUnsafeNames(t *testing.T) {
	cases := []struct{ name, entry string }{
		{"dotdot at start", "../etc/passwd"},
		{"dotdot in middle", "lib/../../x"},
		{"absolute escaping", "/../x"},
		{"dotdot alone", ".."},
		{"nul byte", "etc/pass\x00wd"},
		{"empty", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, []Entry{{Name: c.entry, Mode: 0o644}})
			if !errors.Is(err, ErrUnsafeName) {
				t.Fatalf("Write(%q) = %v, want ErrUnsafeName", c.entry, err)
			}
			if err := NewWriter(&bytes.Buffer{}).WriteEntry(Entry{Name: c.entry}); !errors.Is(err, ErrUnsafeName) {
				t.Fatalf("WriteEntry(%q) = %v, want ErrUnsafeName", c.entry, err)
			}
		})
	}
}

func TestSafeNames(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"absolute inside", "/etc/passwd", "etc/passwd"},
		{"double slash", "etc//passwd", "etc/passwd"},
		{"dot component", "./etc/./passwd", "etc/passwd"},
		{"trailing slash", "etc/", "etc"},
		{"root", "/", "."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CleanName(c.in)
			if err != nil || got != c.want {
				t.Fatalf("CleanName(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name    string
		entries []Entry
		want    error
	}{
		{"duplicate after cleaning", []Entry{{Name: "/a", Mode: 0o644}, {Name: "a", Mode: 0o644}}, ErrDuplicate},
		{"symlink with NUL target", []Entry{{Name: "l", Mode: fs.ModeSymlink, Target: "a\x00b"}}, ErrUnsafeName},
		{"symlink without target", []Entry{{Name: "l", Mode: fs.ModeSymlink}}, ErrUnsafeName},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Write(&bytes.Buffer{}, c.entries); !errors.Is(err, c.want) {
				t.Fatalf("Write = %v, want %v", err, c.want)
			}
		})
	}
	t.Run("file as parent", func(t *testing.T) {
		err := Write(&bytes.Buffer{}, []Entry{{Name: "a", Mode: 0o644}, {Name: "a/b", Mode: 0o644}})
		if err == nil {
			t.Fatal("Write accepted a file under a regular file")
		}
	})
	t.Run("unsupported type", func(t *testing.T) {
		err := Write(&bytes.Buffer{}, []Entry{{Name: "p", Mode: fs.ModeNamedPipe}})
		if err == nil {
			t.Fatal("Write accepted a named pipe")
		}
	})
}

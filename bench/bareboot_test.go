package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteBareCpioListsWithBusybox(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed: cannot list the archive with a real cpio")
	}
	var buf bytes.Buffer
	if err := WriteBareCpio(&buf, []byte("#!fake init\n")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bb, "cpio", "-t", "-v")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("busybox cpio -tv: %v\n%s", err, out)
	}
	checks := []struct{ name, line string }{
		{"dev is a directory", "drwxr-xr-x"},
		{"console is char device 5,1", "crw-------"},
		{"init is executable", "-rwxr-xr-x"},
	}
	for _, c := range checks {
		if !strings.Contains(string(out), c.line) {
			t.Errorf("%s: no %q in\n%s", c.name, c.line, out)
		}
	}
	for _, name := range []string{"dev", "dev/console", "init"} {
		if !containsLineEnding(string(out), " "+name) {
			t.Errorf("entry %s missing in\n%s", name, out)
		}
	}
	// newc header: 110 bytes before the name; rdevmajor/rdevminor are the
	// 10th and 11th 8-hex-digit fields after the 6-byte magic.
	var raw bytes.Buffer
	if err := WriteBareCpio(&raw, []byte("x")); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw.Bytes(), []byte("dev/console\x00"))
	if i < 110 {
		t.Fatal("dev/console header not found")
	}
	h := raw.Bytes()[i-110 : i]
	if rdev := string(h[6+8*9 : 6+8*11]); rdev != "0000000500000001" {
		t.Errorf("dev/console rdev fields = %s, want major 5 minor 1", rdev)
	}
}

func containsLineEnding(text, suffix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(l, suffix) {
			return true
		}
	}
	return false
}

// TestBuildBareInitrd builds the real init with the go tool and checks the
// archive: gzip, newc, a static ELF /init.
func TestBuildBareInitrd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "bare.img")
	if err := BuildBareInitrd(context.Background(), root, dst); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("initrd is not gzip: %v", err)
	}
	var raw bytes.Buffer
	if _, err := raw.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	b := raw.Bytes()
	if !bytes.HasPrefix(b, []byte("070701")) {
		t.Fatalf("not a newc cpio: starts %q", b[:min(6, len(b))])
	}
	i := bytes.Index(b, []byte("init\x00"))
	if i < 0 {
		t.Fatal("no init entry")
	}
	if !bytes.Contains(b[i:], []byte("\x7fELF")) {
		t.Error("init is not an ELF binary")
	}
	if bytes.Contains(b, []byte("/lib64/ld-linux")) {
		t.Error("init is dynamically linked (wants an interpreter)")
	}
}

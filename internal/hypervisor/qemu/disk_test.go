package qemu

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/testenv"
)

func TestFormatOf(t *testing.T) {
	cases := []struct {
		name string
		head []byte
		want string
	}{
		{"qcow2 magic", []byte("QFI\xfb\x00\x00\x00\x03"), FormatQCOW2},
		{"ext4 image", make([]byte, 16), FormatRaw},
		{"short file", []byte("QF"), FormatRaw},
		{"empty file", nil, FormatRaw},
		{"near miss", []byte("QFI\xfa"), FormatRaw},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := formatOf(c.head); got != c.want {
				t.Errorf("formatOf(%q) = %s, want %s", c.head, got, c.want)
			}
		})
	}
}

// FuzzFormatOf checks the header sniffing never panics and says qcow2
// exactly when the magic leads.
func FuzzFormatOf(f *testing.F) {
	f.Add([]byte("QFI\xfb\x00\x00\x00\x03"))
	f.Add([]byte{})
	f.Add([]byte("QFI"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := formatOf(b)
		want := FormatRaw
		if len(b) >= 4 && string(b[:4]) == "QFI\xfb" {
			want = FormatQCOW2
		}
		if got != want {
			t.Fatalf("formatOf(%q) = %s, want %s", b, got, want)
		}
	})
}

func qemuImgInfo(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("qemu-img", "info", "-U", path).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v\n%s", path, err, out)
	}
	return string(out)
}

// TestPrepareDisk uses the real qemu-img: overlays over raw and qcow2
// bases, the shared mode, and the refusals.
func TestPrepareDisk(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	ctx := context.Background()
	b := New(Options{})
	dir := t.TempDir()
	raw := filepath.Join(dir, "rootfs.qcow2") // a raw image with a misleading name
	if err := os.WriteFile(raw, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	q2 := filepath.Join(dir, "base.img") // a qcow2 image with a neutral name
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", q2, "4M").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	t.Run("overlay over raw", func(t *testing.T) {
		dst := filepath.Join(dir, "vm1.img")
		got, err := b.PrepareDisk(ctx, raw, dst, hypervisor.DiskIsolated)
		if err != nil || got != dst {
			t.Fatalf("got %q, %v", got, err)
		}
		info := qemuImgInfo(t, dst)
		for _, want := range []string{"file format: qcow2", "backing file: " + raw, "backing file format: raw"} {
			if !strings.Contains(info, want) {
				t.Errorf("info lacks %q:\n%s", want, info)
			}
		}
		if f, _ := DiskFormat(dst); f != FormatQCOW2 {
			t.Errorf("DiskFormat(overlay) = %s", f)
		}
	})
	t.Run("overlay over qcow2 with relative base", func(t *testing.T) {
		t.Chdir(dir)
		dst := filepath.Join(dir, "vm2.img")
		if _, err := b.PrepareDisk(ctx, "base.img", dst, hypervisor.DiskIsolated); err != nil {
			t.Fatal(err)
		}
		info := qemuImgInfo(t, dst)
		for _, want := range []string{"backing file: " + q2, "backing file format: qcow2"} {
			if !strings.Contains(info, want) {
				t.Errorf("info lacks %q:\n%s", want, info)
			}
		}
	})
	t.Run("shared returns the base", func(t *testing.T) {
		dst := filepath.Join(dir, "vm3.img")
		got, err := b.PrepareDisk(ctx, raw, dst, hypervisor.DiskShared)
		if err != nil || got != raw {
			t.Fatalf("got %q, %v; want %q", got, err, raw)
		}
		if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("shared mode created %s", dst)
		}
	})
	t.Run("existing destination refused", func(t *testing.T) {
		dst := filepath.Join(dir, "taken.img")
		if err := os.WriteFile(dst, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := b.PrepareDisk(ctx, raw, dst, hypervisor.DiskIsolated); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("err = %v, want ErrExist", err)
		}
		if b, _ := os.ReadFile(dst); string(b) != "keep" {
			t.Errorf("destination overwritten")
		}
	})
	t.Run("missing base", func(t *testing.T) {
		if _, err := b.PrepareDisk(ctx, filepath.Join(dir, "nope"), filepath.Join(dir, "x.img"), hypervisor.DiskIsolated); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v, want ErrNotExist", err)
		}
	})
	t.Run("unknown mode", func(t *testing.T) {
		_, err := b.PrepareDisk(ctx, raw, filepath.Join(dir, "y.img"), "copy")
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "DiskMode") {
			t.Fatalf("err = %v, want ErrInvalidSpec naming DiskMode", err)
		}
	})
	t.Run("qemu-img failure leaves nothing", func(t *testing.T) {
		dst := filepath.Join(dir, "nodir", "z.img")
		_, err := b.PrepareDisk(ctx, raw, dst, hypervisor.DiskIsolated)
		if err == nil || !strings.Contains(err.Error(), "qemu-img") {
			t.Fatalf("err = %v, want qemu-img error", err)
		}
		if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind", dst)
		}
	})
}

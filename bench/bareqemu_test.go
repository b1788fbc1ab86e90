package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/smolvm/smolvm/image"
	"github.com/smolvm/smolvm/internal/hypervisor/qemu"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/testenv"
)

// TestBareBootPowersOff boots smolvm's default kernel with the baseline
// initrd under real QEMU: QEMU must exit on its own (the init powered
// off) and the init's milestone line must be on the console. Timings are
// reported, never asserted.
func TestBareBootPowersOff(t *testing.T) {
	testenv.RequireVM(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dirs, err := paths.Default()
	if err != nil {
		t.Fatal(err)
	}
	img, err := image.NewBuilder(image.WithCacheDir(dirs.Cache)).Build(ctx)
	if err != nil {
		t.Fatalf("default image: %v", err)
	}
	dir := t.TempDir()
	initrd := filepath.Join(dir, "bare.img")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if err := BuildBareInitrd(ctx, root, initrd); err != nil {
		t.Fatal(err)
	}
	accel, _ := qemu.DetectAccel(qemu.HostAccelInputs())
	b := BareBoot{Kernel: img.Kernel, Initrd: initrd, Accel: accel, VCPUs: 1, MemoryMiB: 512, Dir: dir}
	args, _, err := b.argv()
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Run(ctx)
	if err != nil {
		t.Fatalf("%v\nqemu-system-x86_64 %q", err, args)
	}
	if s.KernelInit <= 0 || s.KernelInit > s.Wall {
		t.Errorf("kernel-to-init %v is not within the boot's wall time %v", s.KernelInit, s.Wall)
	}
	t.Logf("bare boot: %v wall, init after %v", s.Wall, s.KernelInit)
}

package firecracker

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/hypervisor/qemu"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestCmdline(t *testing.T) {
	cases := []struct{ name, base, want string }{
		{"empty", "", "console=ttyS0 reboot=k panic=1"},
		{"appends", "root=/dev/vda rw", "root=/dev/vda rw console=ttyS0 reboot=k panic=1"},
		{"keeps caller's console", "console=hvc0 quiet", "console=hvc0 quiet reboot=k panic=1"},
		{"keeps caller's panic", "panic=5", "panic=5 console=ttyS0 reboot=k"},
		{"forces reboot=k over smolvm's QEMU args", "console=ttyS0 quiet panic=-1 reboot=t", "console=ttyS0 quiet panic=-1 reboot=k"},
		{"collapses spaces", "  a   b ", "a b console=ttyS0 reboot=k panic=1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Cmdline(c.base); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	if got := Cmdline("a", "ip=1::2:3::eth0:off", "ip=x"); got != "a console=ttyS0 reboot=k panic=1 ip=1::2:3::eth0:off" {
		t.Fatalf("extra: %q", got)
	}
}

func TestSelect(t *testing.T) {
	found := func(string) (string, error) { return "/usr/bin/firecracker", nil }
	missing := func(string) (string, error) { return "", errors.New("not found") }
	kvmOK := func() (bool, string) { return true, "" }
	kvmNo := func() (bool, string) { return false, "no vmx/svm" }
	cases := []struct {
		name, explicit, env string
		p                   Probe
		want, why           string
	}{
		{"explicit wins", "QEMU", "firecracker", Probe{found, kvmOK}, "qemu", "explicitly"},
		{"env next", "", "firecracker", Probe{missing, kvmNo}, "firecracker", "SMOLVM_BACKEND"},
		{"auto firecracker", "", "", Probe{found, kvmOK}, "firecracker", "usable"},
		{"auto no binary", "", "", Probe{missing, kvmOK}, "qemu", "not on PATH"},
		{"auto no kvm", "", "", Probe{found, kvmNo}, "qemu", "no vmx/svm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name, why := SelectWith(c.explicit, c.env, c.p)
			if name != c.want || !strings.Contains(why, c.why) {
				t.Fatalf("got %q %q, want %q ~%q", name, why, c.want, c.why)
			}
		})
	}
}

func TestKVMUsable(t *testing.T) {
	flags := "processor: 0\nflags\t\t: fpu vme vmx sse\n"
	noflag := "processor: 0\nflags\t\t: fpu vme sse hypervisor\n"
	v := func(n int, err error) func() (int, error) { return func() (int, error) { return n, err } }
	cases := []struct {
		name string
		in   qemu.AccelInputs
		ok   bool
		why  string
	}{
		{"usable", qemu.AccelInputs{CPUInfo: flags, KVMAPIVersion: v(12, nil)}, true, ""},
		{"no cpu flag (paravirtual nested kvm)", qemu.AccelInputs{CPUInfo: noflag, KVMAPIVersion: v(12, nil)}, false, "vmx/svm"},
		{"no /dev/kvm", qemu.AccelInputs{CPUInfo: flags, KVMAPIVersion: v(0, fs.ErrNotExist)}, false, "missing"},
		{"not writable", qemu.AccelInputs{CPUInfo: flags, KVMAPIVersion: v(0, fs.ErrPermission)}, false, "kvm group"},
		{"ioctl fails", qemu.AccelInputs{CPUInfo: flags, KVMAPIVersion: v(0, syscall.ENOTTY)}, false, "unusable"},
		{"bad api version", qemu.AccelInputs{CPUInfo: flags, KVMAPIVersion: v(11, nil)}, false, "version 11"},
		{"cpuinfo unreadable", qemu.AccelInputs{CPUInfoErr: fs.ErrPermission}, false, "cpuinfo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, why := KVMUsable(c.in)
			if ok != c.ok || !strings.Contains(why, c.why) {
				t.Fatalf("got %v %q", ok, why)
			}
		})
	}
}

func TestDoctor(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("CONFIG_VIRTIO_MMIO=m\nCONFIG_ACPI=y\nCONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_VSOCKETS=m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checks := Doctor(context.Background(), DoctorOptions{
		Firecracker: filepath.Join(dir, "no-firecracker"), Jailer: filepath.Join(dir, "no-jailer"),
		Vmlinux: vmlinux(t, dir), KernelConfig: cfg,
		KVM:      func() (bool, string) { return false, "the CPU has no vmx/svm flag" },
		NFTables: func() error { return syscall.EPERM },
	})
	byName := map[string]Check{}
	for _, c := range checks {
		byName[c.Name] = c
		if !c.OK && c.Fix == "" && c.Name != "kernel config" {
			t.Errorf("%s fails without a fix hint", c.Name)
		}
	}
	for name, want := range map[string]bool{"firecracker": false, "jailer": false, "kvm": false, "nftables": false,
		"kernel image": true, "kernel config": true} {
		c, ok := byName[name]
		if !ok || c.OK != want {
			t.Errorf("%s: %+v, want ok=%v", name, c, want)
		}
	}
	if _, ok := byName["vsock"]; !ok {
		t.Error("no vsock check")
	}
	if !strings.Contains(byName["kvm"].Detail, "vmx/svm") || !strings.Contains(byName["kernel config"].Detail, "ACPI") ||
		!strings.Contains(byName["nftables"].Detail, "root") {
		t.Errorf("details: %+v", checks)
	}
	fc := filepath.Join(dir, "firecracker")
	if err := os.WriteFile(fc, []byte("#!/bin/sh\necho 'Firecracker v1.16.1'\necho\n"), 0o700); err != nil { //nolint:gosec
		t.Fatal(err)
	}
	if c := programCheck(context.Background(), "firecracker", fc, false, ""); !c.OK || !strings.HasSuffix(c.Detail, ": Firecracker v1.16.1") {
		t.Fatalf("version check: %+v", c)
	}
}

func TestPlanJailer(t *testing.T) {
	b := New(Options{Firecracker: "/bin/true", Jailer: &Jailer{Program: "/usr/bin/jailer", UID: 123, GID: 100, ChrootBase: "/srv/jail"}})
	l, err := b.Plan(hypervisor.Spec{ID: "vm-7", Dir: "/var/lib/smolvm/vms/vm-7", Kernel: "/k", Disk: "/d", Initrd: "/i"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(l.Argv, " ") + "\napi " + l.APIHost + "\nvsock " + l.VsockHost + "\nchroot " + l.ChrootDir +
		"\nkernel " + l.Kernel + "\ninitrd " + l.Initrd + "\ndisk " + l.Disk + "\nvsock(fc) " + l.Vsock + "\n"
	golden(t, "jailer-plan.txt", got)
	if _, err := b.Plan(hypervisor.Spec{ID: "bad id!", Dir: "/x"}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("bad jail id: %v", err)
	}
	plain := New(Options{Firecracker: "firecracker"})
	l, err = plain.Plan(hypervisor.Spec{ID: "vm-7", Dir: "/var/lib/smolvm/vms/vm-7", Kernel: "/k", Disk: "/d"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plain-plan.txt", strings.Join(l.Argv, " ")+"\n")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil { //nolint:gosec
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Fatalf("%s:\ngot:\n%s\nwant:\n%s", p, got, want)
	}
}

func TestPrepareDisk(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	// data, a 1 MiB zero run (a hole in the copy), data, a trailing hole.
	content := append(append(bytes.Repeat([]byte("a"), 5000), make([]byte, 1<<20)...), []byte("tail")...)
	content = append(content, make([]byte, 200<<10)...)
	if err := os.WriteFile(base, content, 0o600); err != nil {
		t.Fatal(err)
	}
	b := New(Options{})
	ctx := context.Background()
	got, err := b.PrepareDisk(ctx, base, filepath.Join(dir, "shared"), hypervisor.DiskShared)
	if err != nil || got != base {
		t.Fatalf("shared: %q %v", got, err)
	}
	dst := filepath.Join(dir, "disk.img")
	got, err = b.PrepareDisk(ctx, base, dst, hypervisor.DiskIsolated)
	if err != nil || got != dst {
		t.Fatalf("isolated: %q %v", got, err)
	}
	out, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(out, content) {
		t.Fatalf("copy differs (%d vs %d bytes) %v", len(out), len(content), err)
	}
	if _, err := os.Stat(dst + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temp file left")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dst, &st); err != nil {
		t.Fatal(err)
	}
	// Sparse or reflinked: far fewer blocks allocated than the size.
	if alloc := st.Blocks * 512; alloc >= int64(len(content)) {
		t.Logf("allocated %d of %d bytes (filesystem may not support holes)", alloc, len(content))
	}
	// The sparse path, forced.
	f, err := os.Create(filepath.Join(dir, "forced"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := os.Open(base)
	defer func() { _ = in.Close() }()
	if err := sparseCopy(ctx, f, in, int64(len(content))); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if out, _ := os.ReadFile(filepath.Join(dir, "forced")); !bytes.Equal(out, content) {
		t.Fatal("sparse copy differs")
	}
	if _, err := b.PrepareDisk(ctx, filepath.Join(dir, "none"), dst, hypervisor.DiskIsolated); err == nil {
		t.Fatal("missing base accepted")
	}
	if _, err := b.PrepareDisk(ctx, base, dst, "weird"); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("bad mode: %v", err)
	}
}

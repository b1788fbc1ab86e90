package qemu

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const goldenDir = "/var/lib/smolvm/vms/vm-1"

func goldenSpec() hypervisor.Spec {
	return hypervisor.Spec{
		ID:        "vm-1",
		Dir:       goldenDir,
		Kernel:    "/cache/images/abc/vmlinuz",
		Initrd:    "/cache/images/abc/initrd.img",
		Disk:      goldenDir + "/disk.img",
		VCPUs:     2,
		MemoryMiB: 512,
		Cmdline:   "root=/dev/vda rw quiet",
		SSHPort:   40022,
	}
}

// TestArgvGolden compares whole command lines with testdata/argv-*.golden
// (one argument per line). Run with -update to rewrite them.
func TestArgvGolden(t *testing.T) {
	cases := []struct {
		name   string
		accel  string
		format string
		edit   func(*hypervisor.Spec)
	}{
		{"tcg-initrd-overlay", AccelTCG, FormatQCOW2, nil},
		{"tcg-noinitrd-shared", AccelTCG, FormatRaw, func(s *hypervisor.Spec) {
			s.Initrd = ""
			s.Disk = "/cache/images/abc/rootfs.ext4"
		}},
		{"kvm-initrd-overlay", AccelKVM, FormatQCOW2, nil},
		{"kvm-noinitrd-shared", AccelKVM, FormatRaw, func(s *hypervisor.Spec) {
			s.Initrd = ""
			s.Disk = "/cache/images/abc/rootfs.ext4"
		}},
		{"tcg-console-present-comma-path", AccelTCG, FormatQCOW2, func(s *hypervisor.Spec) {
			s.Cmdline = "console=ttyS0,115200 root=/dev/vda"
			s.Disk = goldenDir + "/odd,name.qcow2"
			s.VCPUs, s.MemoryMiB = 1, 128
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := goldenSpec()
			if c.edit != nil {
				c.edit(&s)
			}
			argv, err := Argv(Launch{Spec: s, Accel: c.accel, Layout: paths.VM{Dir: s.Dir}, DiskFormat: c.format})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(argv, "\n") + "\n"
			path := filepath.Join("testdata", "argv-"+c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("argv differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
			}
		})
	}
}

// TestArgvRules checks each rule of the command line on its own.
func TestArgvRules(t *testing.T) {
	build := func(accel string, edit func(*hypervisor.Spec)) []string {
		t.Helper()
		s := goldenSpec()
		if edit != nil {
			edit(&s)
		}
		a, err := Argv(Launch{Spec: s, Accel: accel, Layout: paths.VM{Dir: s.Dir}, DiskFormat: FormatQCOW2})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	joined := func(a []string) string { return " " + strings.Join(a, " ") + " " }
	cases := []struct {
		name    string
		argv    []string
		has     []string
		hasNot  []string
		cmdline string
	}{
		{name: "tcg uses pc, never microvm", argv: build(AccelTCG, nil),
			has: []string{" -M pc -accel tcg "}, hasNot: []string{"microvm", "-cpu host", "kvm"}},
		{name: "kvm uses q35 and the host cpu", argv: build(AccelKVM, nil),
			has: []string{" -M q35 -accel kvm -cpu host "}, hasNot: []string{"microvm", "tcg"}},
		{name: "ssh forwarded from loopback only", argv: build(AccelTCG, nil),
			has: []string{" user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22 "}},
		{name: "no defaults, no display, no reboot", argv: build(AccelTCG, nil),
			has: []string{" -nodefaults ", " -no-user-config ", " -no-reboot ", " -display none "}},
		{name: "entropy device", argv: build(AccelTCG, nil), has: []string{" -device virtio-rng-pci "}},
		{name: "qmp socket in the vm dir", argv: build(AccelTCG, nil),
			has: []string{" -qmp unix:" + goldenDir + "/qmp.sock,server=on,wait=off "}},
		{name: "serial log in the vm dir", argv: build(AccelTCG, nil),
			has: []string{" file,id=ser0,path=" + goldenDir + "/serial.log ", " -serial chardev:ser0 "}},
		{name: "no initrd flag without initrd", argv: build(AccelTCG, func(s *hypervisor.Spec) { s.Initrd = "" }),
			hasNot: []string{"-initrd"}},
		{name: "console appended", argv: build(AccelTCG, nil), cmdline: "root=/dev/vda rw quiet console=ttyS0"},
		{name: "console kept when present", argv: build(AccelTCG, func(s *hypervisor.Spec) { s.Cmdline = "console=ttyS0 quiet" }),
			cmdline: "console=ttyS0 quiet"},
		{name: "serial console appended after tty0", argv: build(AccelTCG, func(s *hypervisor.Spec) { s.Cmdline = "console=tty0" }),
			cmdline: "console=tty0 console=ttyS0"},
		{name: "empty cmdline", argv: build(AccelTCG, func(s *hypervisor.Spec) { s.Cmdline = "" }), cmdline: "console=ttyS0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := joined(c.argv)
			for _, h := range c.has {
				if !strings.Contains(j, h) {
					t.Errorf("argv lacks %q:\n%s", h, j)
				}
			}
			for _, h := range c.hasNot {
				if strings.Contains(j, h) {
					t.Errorf("argv has %q:\n%s", h, j)
				}
			}
			if c.cmdline != "" {
				for i, a := range c.argv {
					if a == "-append" {
						if got := c.argv[i+1]; got != c.cmdline {
							t.Errorf("-append %q, want %q", got, c.cmdline)
						}
					}
				}
			}
		})
	}
}

// TestArgvInvalid checks that each invalid field is refused by name.
func TestArgvInvalid(t *testing.T) {
	long := "/" + strings.Repeat("d", 100)
	cases := []struct {
		name  string
		field string
		edit  func(*Launch)
	}{
		{"empty id", "ID", func(l *Launch) { l.Spec.ID = "" }},
		{"relative dir", "Dir", func(l *Launch) { l.Spec.Dir = "vm"; l.Layout.Dir = "vm" }},
		{"layout mismatch", "Layout.Dir", func(l *Launch) { l.Layout.Dir = "/elsewhere" }},
		{"no kernel", "Kernel", func(l *Launch) { l.Spec.Kernel = "" }},
		{"no disk", "Disk", func(l *Launch) { l.Spec.Disk = "" }},
		{"zero cpus", "VCPUs", func(l *Launch) { l.Spec.VCPUs = 0 }},
		{"tiny memory", "MemoryMiB", func(l *Launch) { l.Spec.MemoryMiB = 8 }},
		{"no ssh port", "SSHPort", func(l *Launch) { l.Spec.SSHPort = 0 }},
		{"port too big", "SSHPort", func(l *Launch) { l.Spec.SSHPort = 70000 }},
		{"tap network", "Network", func(l *Launch) { l.Spec.Network = "tap" }},
		{"unknown accel", "Accel", func(l *Launch) { l.Accel = "hvf" }},
		{"unknown format", "DiskFormat", func(l *Launch) { l.DiskFormat = "vmdk" }},
		{"newline in cmdline", "Cmdline", func(l *Launch) { l.Spec.Cmdline = "a\nb" }},
		{"socket path too long", long, func(l *Launch) { l.Spec.Dir = long; l.Layout.Dir = long }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := goldenSpec()
			l := Launch{Spec: s, Accel: AccelTCG, Layout: paths.VM{Dir: s.Dir}, DiskFormat: FormatRaw}
			c.edit(&l)
			_, err := Argv(l)
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("err = %v, want ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %s", err, c.field)
			}
		})
	}
}

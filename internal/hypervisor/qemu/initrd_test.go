package qemu

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/smolvm/smolvm/internal/testenv"
)

// cpioEntry is one member of a newc archive.
type cpioEntry struct {
	name  string
	mode  uint32 // type bits included (0o040000 dir, 0o100000 file, 0o020000 char dev)
	data  []byte
	major uint32 // device numbers, for character devices
	minor uint32
}

// newc writes a minimal "070701" cpio archive, the format the kernel
// unpacks as an initramfs.
func newc(entries []cpioEntry) []byte {
	var buf bytes.Buffer
	pad := func() {
		for buf.Len()%4 != 0 {
			buf.WriteByte(0)
		}
	}
	write := func(ino uint32, e cpioEntry) {
		fmt.Fprintf(&buf, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			ino, e.mode, 0, 0, 1, 0, len(e.data), 0, 0, e.major, e.minor, len(e.name)+1, 0)
		buf.WriteString(e.name)
		buf.WriteByte(0)
		pad()
		buf.Write(e.data)
		pad()
	}
	for i, e := range entries {
		write(uint32(i+1), e)
	}
	write(0, cpioEntry{name: "TRAILER!!!"})
	return buf.Bytes()
}

// Guest /init scripts. Each prints markerReady once it is set up and
// never exits (PID 1 must not).
const (
	markerReady     = "SMOLVM-TEST-READY"
	markerPowerdown = "SMOLVM-TEST-POWER-BUTTON"

	// initIgnore ignores the ACPI power button: only quit or kill stops it.
	initIgnore = `#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
echo ` + markerReady + `
while :; do $bb sleep 1000; done
`
	// initPowerdown loads the ACPI button driver, waits for a power-button
	// press (QMP system_powerdown) and powers off.
	initPowerdown = `#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb insmod /button.ko || echo insmod failed
echo ` + markerReady + `
while :; do
	set -- $($bb cat /sys/firmware/acpi/interrupts/ff_pwr_btn)
	[ "$1" != 0 ] && break
	$bb sleep 0.2
done
echo ` + markerPowerdown + `
$bb poweroff -f
while :; do $bb sleep 1000; done
`
)

// writeInitrd builds an initrd holding a static busybox, /dev/console,
// the ACPI button module and the given /init, and returns its path.
func writeInitrd(t *testing.T, dir, init string, k testKernel) string {
	t.Helper()
	bb := staticBusybox(t)
	img := newc([]cpioEntry{
		{name: "bin", mode: 0o040755},
		{name: "dev", mode: 0o040755},
		{name: "proc", mode: 0o040755},
		{name: "sys", mode: 0o040755},
		{name: "dev/console", mode: 0o020600, major: 5, minor: 1},
		{name: "bin/busybox", mode: 0o100755, data: bb},
		{name: "button.ko", mode: 0o100644, data: k.Button},
		{name: "init", mode: 0o100755, data: []byte(init)},
	})
	p := filepath.Join(dir, "initrd.cpio")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNewcReadableByBusyboxCpio checks the test's cpio writer against an
// independent reader (busybox cpio), so a boot failure is not blamed on it.
func TestNewcReadableByBusyboxCpio(t *testing.T) {
	dir := t.TempDir()
	arc := filepath.Join(dir, "a.cpio")
	if err := os.WriteFile(arc, newc([]cpioEntry{
		{name: "d", mode: 0o040755},
		{name: "d/f", mode: 0o100644, data: []byte("hello\n")},
		{name: "odd", mode: 0o100600, data: []byte("12345")},
	}), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(arc)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command(testenv.RequireTool(t, "busybox"), "cpio", "-i", "-d")
	cmd.Dir, cmd.Stdin = out, in
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("busybox cpio: %v\n%s", err, b)
	}
	for name, want := range map[string]string{"d/f": "hello\n", "odd": "12345"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}

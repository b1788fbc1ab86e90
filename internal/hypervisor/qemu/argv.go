package qemu

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
)

// Disk formats Argv accepts (see DiskFormat).
const (
	FormatQCOW2 = "qcow2"
	FormatRaw   = "raw"
)

// ErrInvalidSpec is wrapped by every error about a Spec or Launch field;
// the message names the field and its value.
var ErrInvalidSpec = errors.New("invalid VM spec")

// Launch is everything one QEMU command line is built from.
type Launch struct {
	Spec       hypervisor.Spec
	Accel      string   // AccelKVM or AccelTCG
	Layout     paths.VM // per-VM files: serial log, QMP socket, PID file
	DiskFormat string   // FormatQCOW2 or FormatRaw, as found in Spec.Disk
}

// Argv returns QEMU's arguments (without the program name) for l. It is a
// pure function: same input, same output, no I/O.
//
// TCG uses the pc machine (microvm hangs in timer calibration in about
// half of TCG boots); KVM uses q35 with the host CPU model. Devices are
// virtio-blk, virtio-net on user-mode networking with the guest's port 22
// forwarded from 127.0.0.1:SSHPort only, and virtio-rng (the guest makes an
// SSH host key at first boot). The serial console goes to the serial log;
// console=ttyS0 is appended to the kernel command line when it is absent.
func Argv(l Launch) ([]string, error) {
	if err := validateLaunch(l); err != nil {
		return nil, err
	}
	s := l.Spec
	a := []string{
		"-name", escapeOpt(s.ID),
		"-nodefaults", "-no-user-config", "-no-reboot",
		"-display", "none",
	}
	if l.Accel == AccelKVM {
		a = append(a, "-M", "q35", "-accel", "kvm", "-cpu", "host")
	} else {
		a = append(a, "-M", "pc", "-accel", "tcg")
	}
	a = append(a,
		"-smp", strconv.Itoa(s.VCPUs),
		"-m", strconv.Itoa(s.MemoryMiB),
		"-kernel", s.Kernel,
	)
	if s.Initrd != "" {
		a = append(a, "-initrd", s.Initrd)
	}
	a = append(a,
		"-append", KernelCmdline(s.Cmdline),
		"-drive", "if=none,id=d0,file="+escapeOpt(s.Disk)+",format="+l.DiskFormat,
		"-device", "virtio-blk-pci,drive=d0",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", s.SSHPort),
		"-device", "virtio-net-pci,netdev=n0",
		"-device", "virtio-rng-pci",
		"-chardev", "file,id=ser0,path="+escapeOpt(l.Layout.SerialLog()),
		"-serial", "chardev:ser0",
		"-qmp", "unix:"+escapeOpt(l.Layout.QMP())+",server=on,wait=off",
		"-pidfile", l.Layout.PIDFile(),
	)
	return a, nil
}

// KernelCmdline returns cmdline with console=ttyS0 appended unless a
// console=ttyS0 parameter is already there (the last console= wins, so an
// earlier console=tty0 does not keep the serial log empty).
func KernelCmdline(cmdline string) string {
	for _, f := range strings.Fields(cmdline) {
		if f == "console=ttyS0" || strings.HasPrefix(f, "console=ttyS0,") {
			return strings.TrimSpace(cmdline)
		}
	}
	return strings.TrimSpace(strings.TrimSpace(cmdline) + " console=ttyS0")
}

// escapeOpt escapes a value inside a QEMU option string, where a comma
// separates options and ",," is a literal comma.
func escapeOpt(v string) string { return strings.ReplaceAll(v, ",", ",,") }

func validateLaunch(l Launch) error {
	s := l.Spec
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("%w: %s %v: %s", ErrInvalidSpec, field, v, why)
	}
	switch {
	case s.ID == "":
		return bad("ID", `""`, "empty")
	case !filepath.IsAbs(s.Dir):
		return bad("Dir", strconv.Quote(s.Dir), "not an absolute path")
	case l.Layout.Dir != s.Dir:
		return bad("Layout.Dir", strconv.Quote(l.Layout.Dir), "differs from Spec.Dir")
	case s.Kernel == "":
		return bad("Kernel", `""`, "empty")
	case s.Disk == "":
		return bad("Disk", `""`, "empty")
	case s.VCPUs < 1 || s.VCPUs > 255:
		return bad("VCPUs", s.VCPUs, "must be 1..255")
	case s.MemoryMiB < 16:
		return bad("MemoryMiB", s.MemoryMiB, "must be at least 16")
	case s.SSHPort < 1 || s.SSHPort > 65535:
		return bad("SSHPort", s.SSHPort, "must be 1..65535 (QEMU forwards SSH over user-mode networking)")
	case s.Network != "":
		return bad("Network", strconv.Quote(s.Network), "the QEMU backend supports only user-mode networking")
	case l.Accel != AccelKVM && l.Accel != AccelTCG:
		return bad("Accel", strconv.Quote(l.Accel), "must be kvm or tcg")
	case l.DiskFormat != FormatQCOW2 && l.DiskFormat != FormatRaw:
		return bad("DiskFormat", strconv.Quote(l.DiskFormat), "must be qcow2 or raw")
	case strings.ContainsAny(s.Cmdline, "\x00\n"):
		return bad("Cmdline", strconv.Quote(s.Cmdline), "contains NUL or newline")
	}
	if err := paths.CheckSocket(l.Layout.QMP()); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return nil
}

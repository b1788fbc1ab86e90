package qemu

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// installHint is how to get the programs on Debian and Ubuntu.
const installHint = "apt-get install qemu-system-x86 qemu-utils"

// Versions are the QEMU programs the backend found.
type Versions struct {
	QEMU    string // qemu-system-x86_64 version, e.g. "7.2.22"
	QEMUImg string // qemu-img version
}

// Versions runs each program with --version and parses the answer. The
// error wraps hypervisor.ErrUnavailable and says how to install them.
func (b *Backend) Versions(ctx context.Context) (Versions, error) {
	var v Versions
	var err error
	if v.QEMU, err = programVersion(ctx, b.qemu); err != nil {
		return v, err
	}
	if v.QEMUImg, err = programVersion(ctx, b.qemuImg); err != nil {
		return v, err
	}
	return v, nil
}

// Check reports nil when qemu-system-x86_64 and qemu-img run and report a
// version; else an error wrapping hypervisor.ErrUnavailable with the fix.
// It does not require KVM: without it the backend uses TCG.
func (b *Backend) Check(ctx context.Context) error {
	v, err := b.Versions(ctx)
	if err != nil {
		return err
	}
	accel, why := b.Accel()
	b.log.Debug("qemu check", "qemu", v.QEMU, "qemu_img", v.QEMUImg, "accel", accel, "why", why)
	return nil
}

func programVersion(ctx context.Context, prog string) (string, error) {
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", fmt.Errorf("%w: %s not found (%s)", hypervisor.ErrUnavailable, prog, installHint)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s --version: %w (%s)", hypervisor.ErrUnavailable, path, err, installHint)
	}
	ver, ok := parseVersion(string(out))
	if !ok {
		return "", fmt.Errorf("%w: %s --version: no version in %.80q (%s)", hypervisor.ErrUnavailable, path, out, installHint)
	}
	return ver, nil
}

// parseVersion finds "version X.Y[.Z]" in the first line of a QEMU
// program's --version output.
func parseVersion(out string) (string, bool) {
	line, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if f[i] != "version" {
			continue
		}
		v := f[i+1]
		if v == "" || strings.Trim(v, "0123456789.") != "" || !strings.Contains(v, ".") ||
			strings.HasPrefix(v, ".") {
			return "", false
		}
		return v, true
	}
	return "", false
}

package firecracker

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// Check reports nil when firecracker is on PATH (or at the configured
// path) and KVM is usable; otherwise an error wrapping
// hypervisor.ErrUnavailable that says what is missing and how to fix it.
func (b *Backend) Check(ctx context.Context) error {
	if _, err := exec.LookPath(b.fc); err != nil {
		return fmt.Errorf("%w: %s not found: install a Firecracker release binary on PATH (docs/firecracker.md)", hypervisor.ErrUnavailable, b.fc)
	}
	if ok, why := b.kvm(); !ok {
		return fmt.Errorf("%w: KVM not usable: %s", hypervisor.ErrUnavailable, why)
	}
	if b.jailer != nil {
		prog := b.jailer.Program
		if prog == "" {
			prog = "jailer"
		}
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Errorf("%w: jailer configured but %s not found", hypervisor.ErrUnavailable, prog)
		}
	}
	_ = ctx
	return nil
}

// Version runs `prog --version` and returns its first line.
func Version(ctx context.Context, prog string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, "--version").Output() //nolint:gosec // program chosen by config
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", prog, err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line, nil
}

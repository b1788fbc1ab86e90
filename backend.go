package smolvm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/hypervisor/firecracker"
	"github.com/smolvm/smolvm/internal/hypervisor/qemu"
	"github.com/smolvm/smolvm/internal/kernel"
	"github.com/smolvm/smolvm/internal/vsock"
)

// backendByName returns the backend recorded for a VM.
// The logger receives the backends' warnings (e.g. software emulation).
func backendByName(name string, log *slog.Logger) (hypervisor.Backend, error) {
	switch name {
	case qemu.Name, "":
		return qemu.New(qemu.Options{Logger: log}), nil
	case "firecracker":
		return firecracker.New(firecracker.Options{Logger: log}), nil
	}
	return nil, fmt.Errorf("backend %q: %w", name, ErrUnavailable)
}

// selectBackend picks the backend for a new VM (explicit choice, else
// firecracker where its binary and a usable KVM exist, else qemu) and
// checks it can run here.
func selectBackend(ctx context.Context, explicit string, log *slog.Logger) (hypervisor.Backend, error) {
	name, why := firecracker.Select(explicit, "")
	be, err := backendByName(name, log)
	if err != nil {
		return nil, err
	}
	if err := be.Check(ctx); err != nil {
		return nil, fmt.Errorf("%s backend (%s): %w: %w", name, why, ErrUnavailable, err)
	}
	return be, nil
}

// needsPort reports whether the backend reaches the guest through a host
// TCP port (user-mode networking) rather than vsock.
func needsPort(be hypervisor.Backend) bool { return be.Name() == qemu.Name }

func dialVsock(ctx context.Context, path string, port uint32) (net.Conn, error) {
	return vsock.Dial(ctx, path, port)
}

// needsVmlinux reports whether the backend cannot boot this kernel file
// as is: Firecracker's x86_64 loader takes an uncompressed ELF vmlinux
// only, so a bzImage is extracted once into the VM's directory.
func needsVmlinux(be hypervisor.Backend, path string) (bool, error) {
	if be.Name() != "firecracker" {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	head := make([]byte, 1024)
	n, _ := io.ReadFull(f, head)
	_ = f.Close()
	return kernel.IsBzImage(head[:n]), nil
}

func extractVmlinux(src, dst string) error {
	if _, err := kernel.ExtractFile(src, dst); err != nil {
		return fmt.Errorf("extract vmlinux from %s for firecracker: %w", src, err)
	}
	return nil
}

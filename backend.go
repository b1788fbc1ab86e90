package smolvm

import (
	"context"
	"fmt"
	"net"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/hypervisor/qemu"
	"github.com/smolvm/smolvm/internal/vsock"
)

// backendByName returns the backend recorded for a VM.
func backendByName(name string) (hypervisor.Backend, error) {
	switch name {
	case qemu.Name, "":
		return qemu.New(qemu.Options{}), nil
	}
	return nil, fmt.Errorf("backend %q: %w", name, ErrUnavailable)
}

// selectBackend picks the backend for a new VM: the explicit choice, else
// auto. It checks the backend can run here.
func selectBackend(ctx context.Context, explicit string) (hypervisor.Backend, error) {
	be, err := backendByName(explicit)
	if err != nil {
		return nil, err
	}
	if err := be.Check(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return be, nil
}

// needsPort reports whether the backend reaches the guest through a host
// TCP port (user-mode networking) rather than vsock.
func needsPort(be hypervisor.Backend) bool { return be.Name() == qemu.Name }

func dialVsock(ctx context.Context, path string, port uint32) (net.Conn, error) {
	return vsock.Dial(ctx, path, port)
}

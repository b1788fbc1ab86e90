package smolvm

import (
	"context"
	"fmt"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/network"
	"github.com/smolvm/smolvm/internal/store"
)

// setupTAP creates the VM's TAP device and NAT rules from its leased
// addresses and fills the spec's network fields (Firecracker, root only).
func (vm *VM) setupTAP(ctx context.Context, spec *hypervisor.Spec) error {
	lease, err := vm.st.IP(ctx, vm.id)
	if err != nil {
		return fmt.Errorf("tap network: %w", err)
	}
	tap, err := network.New(network.Options{Logger: vm.log}).Setup(ctx, network.VM{
		ID: vm.id, Host: lease.Host, Guest: lease.Guest, PrefixLen: lease.PrefixLen,
	})
	if err != nil {
		return fmt.Errorf("tap network: %w", err)
	}
	spec.TAP = tap
	spec.GuestMAC = network.GuestMAC(lease.Guest)
	spec.Cmdline += " " + network.KernelIPArg(lease.Guest, lease.Host, lease.PrefixLen)
	return nil
}

// teardownTAP removes the VM's TAP device and rules, if it has any.
func (vm *VM) teardownTAP(ctx context.Context, v store.VM) error {
	rec, err := decodeRecord(v)
	if err != nil || rec.Network != NetworkTAP {
		return err
	}
	return network.New(network.Options{Logger: vm.log}).Delete(ctx, vm.id)
}

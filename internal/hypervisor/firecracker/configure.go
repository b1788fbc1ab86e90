package firecracker

import (
	"context"
	"fmt"

	"github.com/smolvm/smolvm/internal/firecracker/api"
	"github.com/smolvm/smolvm/internal/hypervisor"
)

// RootDriveID and NetIfaceID are the API ids of the VM's devices.
const (
	RootDriveID = "rootfs"
	NetIfaceID  = "eth0"
)

// configure applies the boot configuration in the reference order and
// starts the instance.
func (b *Backend) configure(ctx context.Context, c *api.Client, spec hypervisor.Spec, l Launch) error {
	if l.LogViaAPI {
		if err := c.PutLogger(ctx, api.Logger{LogPath: l.Log, Level: b.logLevel}); err != nil {
			return err
		}
		if err := c.PutMetrics(ctx, api.Metrics{MetricsPath: l.Metrics}); err != nil {
			return err
		}
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"boot-source", func() error {
			return c.PutBootSource(ctx, api.BootSource{KernelImagePath: l.Kernel, InitrdPath: l.Initrd,
				BootArgs: Cmdline(spec.Cmdline)})
		}},
		{"machine-config", func() error {
			return c.PutMachineConfig(ctx, api.MachineConfig{VCPUCount: spec.VCPUs, MemSizeMiB: spec.MemoryMiB})
		}},
		{"root drive", func() error {
			return c.PutDrive(ctx, api.Drive{DriveID: RootDriveID, PathOnHost: l.Disk, IsRootDevice: true})
		}},
		{"network interface", func() error {
			if spec.Network != "tap" {
				return nil
			}
			return c.PutNetworkInterface(ctx, api.NetworkInterface{IfaceID: NetIfaceID, HostDevName: spec.TAP, GuestMAC: spec.GuestMAC})
		}},
		{"vsock", func() error { return c.PutVsock(ctx, api.Vsock{GuestCID: b.cid, UDSPath: l.Vsock}) }},
		{"instance start", func() error { return c.Action(ctx, api.ActionInstanceStart) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

package firecracker

import (
	"context"
	"fmt"

	"github.com/smolvm/smolvm/internal/firecracker/api"
	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/proc"
)

// SnapshotFiles are the two files of a full snapshot.
type SnapshotFiles struct {
	State  string // microVM state (snapshot_path)
	Memory string // guest memory (mem_file_path)
}

// Snapshot writes a full snapshot of a running VM: it pauses the VM,
// creates the snapshot and resumes it if it was running before. The VM is
// left running (or paused, as it was) also when creation fails.
func (b *Backend) Snapshot(ctx context.Context, h hypervisor.Handle, f SnapshotFiles) error {
	if !(proc.ID{PID: h.PID, StartTime: h.StartTime}).Alive() {
		return fmt.Errorf("snapshot pid %d: %w", h.PID, proc.ErrGone)
	}
	c := api.New(h.Control)
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("snapshot pid %d: %w", h.PID, err)
	}
	wasRunning := info.State == "Running"
	if wasRunning {
		if err := c.PatchVM(ctx, api.StatePaused); err != nil {
			return fmt.Errorf("snapshot pid %d: pause: %w", h.PID, err)
		}
	}
	err = c.CreateSnapshot(ctx, api.SnapshotCreate{SnapshotPath: f.State, MemFilePath: f.Memory, SnapshotType: "Full"})
	if wasRunning {
		if rerr := c.PatchVM(context.WithoutCancel(ctx), api.StateResumed); rerr != nil && err == nil {
			err = fmt.Errorf("resume: %w", rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("snapshot pid %d: %w", h.PID, err)
	}
	return nil
}

// Load starts a new firecracker for spec (ID, Dir, Detach, and TAP when
// Network is "tap" are used) and restores the snapshot into it, resumed,
// with the vsock socket moved to this VM's path. On error nothing is left
// running.
func (b *Backend) Load(ctx context.Context, spec hypervisor.Spec, f SnapshotFiles) (hypervisor.Handle, error) {
	conf := func(ctx context.Context, c *api.Client, l Launch) error {
		if l.LogViaAPI {
			if err := c.PutLogger(ctx, api.Logger{LogPath: l.Log, Level: b.logLevel}); err != nil {
				return err
			}
		}
		req := api.SnapshotLoad{
			SnapshotPath:  f.State,
			MemBackend:    &api.MemoryBackend{BackendType: "File", BackendPath: f.Memory},
			ResumeVM:      true,
			VsockOverride: &api.VsockOverride{UDSPath: l.Vsock},
		}
		if spec.Network == "tap" {
			req.NetworkOverrides = []api.NetworkOverride{{IfaceID: NetIfaceID, HostDevName: spec.TAP}}
		}
		if err := c.LoadSnapshot(ctx, req); err != nil {
			return fmt.Errorf("snapshot load: %w", err)
		}
		return nil
	}
	h, err := b.start(ctx, spec, conf)
	if err != nil {
		return hypervisor.Handle{}, fmt.Errorf("load %s: %w", spec.ID, err)
	}
	return h, nil
}

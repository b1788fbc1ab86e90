package firecracker

import (
	"context"
	"fmt"

	"github.com/smolvm/smolvm/internal/firecracker/api"
	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/proc"
)

// Pause freezes the VM's vCPUs (PATCH /vm Paused).
func (b *Backend) Pause(ctx context.Context, h hypervisor.Handle) error {
	return b.patchVM(ctx, h, api.StatePaused)
}

// Resume continues a paused VM (PATCH /vm Resumed).
func (b *Backend) Resume(ctx context.Context, h hypervisor.Handle) error {
	return b.patchVM(ctx, h, api.StateResumed)
}

func (b *Backend) patchVM(ctx context.Context, h hypervisor.Handle, state string) error {
	if !(proc.ID{PID: h.PID, StartTime: h.StartTime}).Alive() {
		return fmt.Errorf("%s pid %d: %w", state, h.PID, proc.ErrGone)
	}
	if err := api.New(h.Control).PatchVM(ctx, state); err != nil {
		return fmt.Errorf("%s pid %d: %w", state, h.PID, err)
	}
	return nil
}

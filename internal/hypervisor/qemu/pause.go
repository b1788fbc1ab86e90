package qemu

import (
	"context"
	"fmt"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/proc"
)

var _ hypervisor.Pauser = (*Backend)(nil)

// Pause freezes the guest's vCPUs (QMP stop); QEMU itself keeps running.
// It wraps proc.ErrGone when the handle's process no longer runs.
func (b *Backend) Pause(ctx context.Context, h hypervisor.Handle) error {
	if err := b.qmpCommand(ctx, proc.ID{PID: h.PID, StartTime: h.StartTime}, h.Control, "stop"); err != nil {
		return fmt.Errorf("pause pid %d: %w", h.PID, err)
	}
	return nil
}

// Resume lets a paused guest run again (QMP cont). It wraps proc.ErrGone
// when the handle's process no longer runs.
func (b *Backend) Resume(ctx context.Context, h hypervisor.Handle) error {
	if err := b.qmpCommand(ctx, proc.ID{PID: h.PID, StartTime: h.StartTime}, h.Control, "cont"); err != nil {
		return fmt.Errorf("resume pid %d: %w", h.PID, err)
	}
	return nil
}

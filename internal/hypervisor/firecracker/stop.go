package firecracker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/smolvm/smolvm/internal/firecracker/api"
	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/proc"
)

// killWait bounds the wait for the process to vanish after SIGKILL.
const killWait = 5 * time.Second

// Stop powers the VM off: it resumes a paused VM, sends SendCtrlAltDel
// (smolvm's agent, as PID 1, powers off on ctrl-alt-del, and with reboot=k
// the VMM then exits), waits up to timeout, then sends SIGKILL through
// internal/proc (never to a reused PID) and verifies the process is gone.
// The sockets are removed. Stopping a stopped VM returns nil.
func (b *Backend) Stop(ctx context.Context, h hypervisor.Handle, timeout time.Duration) error {
	how, err := b.stop(ctx, h, timeout)
	if err != nil {
		return fmt.Errorf("stop pid %d: %w", h.PID, err)
	}
	if how != "" {
		b.log.Info("firecracker stopped", "pid", h.PID, "how", how)
	}
	return nil
}

// Alive reports whether the handle's process still runs (same PID and
// start time).
func (b *Backend) Alive(h hypervisor.Handle) bool {
	return proc.ID{PID: h.PID, StartTime: h.StartTime}.Alive()
}

func (b *Backend) stop(ctx context.Context, h hypervisor.Handle, timeout time.Duration) (string, error) {
	id := proc.ID{PID: h.PID, StartTime: h.StartTime}
	defer removeSockets(h.Control, h.Transport.Path)
	if !id.Alive() {
		return "", nil
	}
	// Teardown must finish even when the caller's request was cancelled.
	ctx = context.WithoutCancel(ctx)
	if err := b.ctrlAltDel(ctx, h.Control, timeout); err != nil {
		b.log.Warn("firecracker ctrl-alt-del failed", "pid", h.PID, "err", err)
	} else {
		wctx, cancel := context.WithTimeout(ctx, timeout)
		err := id.WaitGone(wctx)
		cancel()
		if err == nil {
			return "ctrl-alt-del", nil
		}
	}
	if err := id.Kill(killWait); err != nil {
		return "", fmt.Errorf("%w: %w", ErrStillRunning, err)
	}
	if id.Alive() {
		return "", ErrStillRunning
	}
	return "killed", nil
}

func (b *Backend) ctrlAltDel(ctx context.Context, sock string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, min(timeout, 5*time.Second))
	defer cancel()
	c := api.New(sock)
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	if info.State == "Paused" {
		if err := c.PatchVM(ctx, api.StateResumed); err != nil {
			return err
		}
	}
	return c.Action(ctx, api.ActionSendCtrlAltDel)
}

func removeSockets(ps ...string) {
	for _, p := range ps {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
	}
}

package qemu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/proc"
)

// Bounds on the steps after the graceful wait.
const (
	qmpStepTimeout  = 5 * time.Second  // one QMP connection + command
	defaultQuitWait = 10 * time.Second // for QEMU to exit after "quit"
	killWait        = 10 * time.Second // for the process to vanish after SIGKILL
)

// How a Stop ended, for logs and tests.
const (
	stoppedAlready   = "already-stopped"
	stoppedPowerdown = "powerdown"
	stoppedQuit      = "quit"
	stoppedKill      = "kill"
)

// Stop powers the VM off: QMP system_powerdown (an ACPI power button
// press), a wait of up to timeout for the guest to power off, then QMP
// quit, then SIGKILL, then a check that the process is gone. Nothing is
// signalled unless the handle's PID still has the handle's start time, so a
// reused PID is never touched. A handle whose process is gone returns nil.
// When ctx ends, Stop skips the rest of the graceful wait and goes on with
// quit and kill under their own bounds: it never leaves QEMU running
// because the caller gave up.
func (b *Backend) Stop(ctx context.Context, h hypervisor.Handle, timeout time.Duration) error {
	how, err := b.stop(ctx, h, timeout)
	if err != nil {
		return fmt.Errorf("stop pid %d: %w", h.PID, err)
	}
	b.log.Info("qemu stopped", "pid", h.PID, "how", how)
	return nil
}

// Alive reports whether the handle's QEMU process runs: its PID exists and
// has the handle's start time.
func (b *Backend) Alive(h hypervisor.Handle) bool {
	return proc.ID{PID: h.PID, StartTime: h.StartTime}.Alive()
}

func (b *Backend) stop(ctx context.Context, h hypervisor.Handle, timeout time.Duration) (string, error) {
	id := proc.ID{PID: h.PID, StartTime: h.StartTime}
	if !id.Alive() {
		return stoppedAlready, nil
	}
	if ctx.Err() == nil {
		if err := b.qmpCommand(ctx, id, h.Control, "system_powerdown"); err != nil {
			b.log.Warn("qemu powerdown", "pid", h.PID, "err", err)
		} else {
			wctx, cancel := context.WithTimeout(ctx, timeout)
			err := id.WaitGone(wctx)
			cancel()
			if err == nil {
				removeSocket(h.Control)
				return stoppedPowerdown, nil
			}
		}
	}
	// From here on the caller's cancellation no longer applies: each step
	// has its own bound.
	bg := context.WithoutCancel(ctx)
	if err := b.qmpCommand(bg, id, h.Control, "quit"); err != nil {
		b.log.Warn("qemu quit", "pid", h.PID, "err", err)
	} else {
		wctx, cancel := context.WithTimeout(bg, b.quitWait)
		err := id.WaitGone(wctx)
		cancel()
		if err == nil {
			removeSocket(h.Control)
			return stoppedQuit, nil
		}
	}
	if err := id.Kill(killWait); err != nil {
		return "", err
	}
	if id.Alive() {
		return "", fmt.Errorf("pid %d still running after SIGKILL", id.PID)
	}
	removeSocket(h.Control)
	return stoppedKill, nil
}

// qmpCommand runs one QMP command on a fresh connection, bounded by
// qmpStepTimeout, after checking that the handle's process still owns its
// PID. For "quit" a connection that closes before the reply counts as
// success: QEMU exits as it answers.
func (b *Backend) qmpCommand(ctx context.Context, id proc.ID, path, command string) error {
	if !id.Alive() {
		return proc.ErrGone
	}
	ctx, cancel := context.WithTimeout(ctx, qmpStepTimeout)
	defer cancel()
	q, err := DialQMP(ctx, path)
	if err != nil {
		return err
	}
	defer func() { _ = q.Close() }()
	_, err = q.Execute(ctx, command, nil)
	if err != nil && command == "quit" && (errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET)) {
		return nil
	}
	return err
}

// removeSocket deletes a dead QEMU's QMP socket file, and nothing that is
// not a socket.
func removeSocket(path string) {
	if st, err := os.Lstat(path); err == nil && st.Mode().Type() == fs.ModeSocket {
		_ = os.Remove(path)
	}
}

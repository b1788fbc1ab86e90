// Package proc identifies processes by PID and start time, so a PID that the
// kernel has reused for another process is never signalled, and stops
// processes gracefully, bounded, forcefully and verified.
package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ID is a process identity: PID plus its start time in clock ticks since
// boot (field 22 of /proc/PID/stat).
type ID struct {
	PID       int
	StartTime uint64
}

// ErrGone means the process no longer exists (or its PID now belongs to
// another process).
var ErrGone = errors.New("process gone")

// Of returns the identity of a running PID.
func Of(pid int) (ID, error) {
	st, err := StartTime(pid)
	if err != nil {
		return ID{}, err
	}
	return ID{PID: pid, StartTime: st}, nil
}

// StartTime reads a PID's start time from /proc/PID/stat.
func StartTime(pid int) (uint64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// ')' itself: fields after it start past the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("pid %d: malformed stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("pid %d: malformed stat", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, fmt.Errorf("pid %d is a zombie: %w", pid, ErrGone)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// Alive reports whether the identified process still runs.
func (id ID) Alive() bool {
	st, err := StartTime(id.PID)
	return err == nil && st == id.StartTime
}

// Signal sends sig only if the PID still belongs to the same process.
func (id ID) Signal(sig syscall.Signal) error {
	if !id.Alive() {
		return ErrGone
	}
	if err := syscall.Kill(id.PID, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return ErrGone
		}
		return fmt.Errorf("signal pid %d: %w", id.PID, err)
	}
	return nil
}

// WaitGone polls until the process is gone or ctx ends.
func (id ID) WaitGone(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for id.Alive() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Kill sends SIGKILL (if still the same process) and waits up to timeout
// for it to be gone; an error means it could not be verified gone.
func (id ID) Kill(timeout time.Duration) error {
	if err := id.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, ErrGone) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := id.WaitGone(ctx); err != nil {
		return fmt.Errorf("pid %d still running after SIGKILL: %w", id.PID, err)
	}
	return nil
}

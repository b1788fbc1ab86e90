package reaper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Reaper reaps every child of this process (PID 1 or a subreaper) and
// delivers the statuses of the children it started to their waiters.
// Orphans that were re-parented here are reaped and logged at debug level.
type Reaper struct {
	log   *slog.Logger
	mu    sync.Mutex // held across fork+register and across lookup+reap
	procs map[int]*proc
	kick  chan struct{}
}

// New returns a Reaper. Call Run to start reaping.
func New(log *slog.Logger) *Reaper {
	return &Reaper{log: log, procs: map[int]*proc{}, kick: make(chan struct{}, 1)}
}

// Start starts cmd and registers it before any reap can happen. cmd's
// stdio must be nil or *os.File (ErrStdio otherwise); the caller must not
// call cmd.Wait.
func (r *Reaper) Start(cmd *exec.Cmd) (Process, error) {
	for _, s := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		if s == nil {
			continue
		}
		if _, ok := s.(*os.File); !ok {
			return nil, ErrStdio
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := newProc(cmd.Process.Pid)
	r.procs[p.pid] = p
	// The pidfd os/exec holds is no longer needed once the reaper owns the
	// child; release it when the status arrives.
	go func() { <-p.done; _ = cmd.Process.Release() }()
	return p, nil
}

// Run reaps children until ctx is done. It reaps on every SIGCHLD and
// also once a second, in case a signal was coalesced away.
func (r *Reaper) Run(ctx context.Context) {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGCHLD)
	defer signal.Stop(ch)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		r.reapAll()
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-r.kick:
		case <-t.C:
		}
	}
}

// reapAll reaps every child that has exited. It peeks with WNOWAIT first,
// so the waiter is marked (no more group signals) while the zombie still
// holds its PID, then reaps exactly that PID.
func (r *Reaper) reapAll() {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		pid := siginfoPid(&info)
		if err != nil || pid == 0 {
			return
		}
		r.reapOne(pid)
	}
}

func (r *Reaper) reapOne(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[pid]
	if p != nil {
		p.mu.Lock()
		p.reaped = true
	}
	var ws unix.WaitStatus
	got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	if p == nil {
		if got == pid {
			r.log.Debug("reaped orphan", "pid", pid, "status", describe(syscall.WaitStatus(ws)))
		}
		return
	}
	if got != pid {
		// Not ours to reap after all (os/exec reaped a child whose exec
		// failed); keep waiting.
		p.reaped = false
		p.mu.Unlock()
		if err != nil && !errors.Is(err, unix.ECHILD) {
			r.log.Warn("wait4", "pid", pid, "err", err)
		}
		return
	}
	delete(r.procs, pid)
	p.status = syscall.WaitStatus(ws)
	p.mu.Unlock()
	close(p.done)
}

// HasChildren reports whether any child (started here or re-parented)
// still exists, without reaping anything.
func HasChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT|unix.WSTOPPED|unix.WCONTINUED, nil)
	return !errors.Is(err, unix.ECHILD)
}

// Kick asks Run to reap now (used by shutdown while it waits for children
// to die).
func (r *Reaper) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// describe renders a wait status for logs.
func describe(ws syscall.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit %d", ws.ExitStatus())
	case ws.Signaled():
		return "signal " + ws.Signal().String()
	default:
		return fmt.Sprintf("status %#x", int(ws))
	}
}

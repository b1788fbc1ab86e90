// Package reaper starts child processes and collects their exit statuses
// without racing a PID 1 orphan reaper.
//
// Two implementations of the same small contract (Start, Wait, SignalGroup):
// Direct for an ordinary process (tests on the host), where only the
// process's own children exist; and Reaper for PID 1 (or a child
// subreaper), where one loop reaps every child, including re-parented
// orphans, and hands each status to whoever started that child. No
// wait4(-1) ever steals a status that a waiter expects, and a process group
// is signalled only while its leader is unreaped, so a reused PID is never
// hit.
package reaper

import (
	"errors"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrFinished is returned by SignalGroup once the leader has been reaped.
var ErrFinished = errors.New("process already finished")

// ErrStdio is returned by Reaper.Start when the command's stdio is not
// nil or *os.File: os/exec would need Cmd.Wait to finish its copying
// goroutines, and the reaper never calls Cmd.Wait.
var ErrStdio = errors.New("reaper: stdin, stdout and stderr must be *os.File or nil")

// Process is a started child.
type Process interface {
	// Pid is the child's process ID.
	Pid() int
	// Wait blocks until the child has exited and been reaped and returns
	// its wait status. It may be called from several goroutines.
	Wait() (syscall.WaitStatus, error)
	// SignalGroup sends sig to the process group whose ID is the child's
	// PID (children started with Setsid or Setpgid lead one). It returns
	// ErrFinished once the child has been reaped.
	SignalGroup(sig syscall.Signal) error
}

// proc is the state both implementations share.
type proc struct {
	pid    int
	mu     sync.Mutex // held while deciding to signal and while marking reaped
	reaped bool
	done   chan struct{}
	status syscall.WaitStatus
	err    error
}

func newProc(pid int) *proc { return &proc{pid: pid, done: make(chan struct{})} }

func (p *proc) Pid() int { return p.pid }

func (p *proc) Wait() (syscall.WaitStatus, error) {
	<-p.done
	return p.status, p.err
}

func (p *proc) SignalGroup(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return ErrFinished
	}
	// The leader is alive or a zombie, so its PID (the group ID) is not
	// free for reuse: this cannot hit an unrelated group.
	return unix.Kill(-p.pid, sig)
}

// waitExited blocks until pid has exited, without reaping it.
func waitExited(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Direct starts children with os/exec and waits for each one by PID. It
// is for a process that is not PID 1 and not a subreaper.
type Direct struct{}

// Start starts cmd and returns its Process. Cmd.Wait must not be called by
// the caller; Process.Wait calls it.
func (Direct) Start(cmd *exec.Cmd) (Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := newProc(cmd.Process.Pid)
	go func() {
		defer close(p.done)
		werr := waitExited(p.pid)
		p.mu.Lock()
		p.reaped = true
		p.mu.Unlock()
		err := cmd.Wait()
		if cmd.ProcessState == nil {
			p.err = errors.Join(werr, err)
			return
		}
		p.status, _ = cmd.ProcessState.Sys().(syscall.WaitStatus)
	}()
	return p, nil
}

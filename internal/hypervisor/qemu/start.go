package qemu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/proc"
)

// ErrExited is wrapped when QEMU exits before its QMP socket answers; the
// message carries the tail of the VMM log and the serial log path.
var ErrExited = errors.New("qemu exited during start")

// ErrAlreadyRunning is wrapped when the VM's QMP socket already answers:
// another QEMU owns this VM directory.
var ErrAlreadyRunning = errors.New("vm already running")

// Start launches QEMU for spec and returns once its QMP socket has greeted
// and accepted the capabilities handshake (the guest is still booting).
// On any error no QEMU process is left running.
//
// With spec.Detach, QEMU runs in its own session with stdin on /dev/null
// and stdout/stderr in the VMM log, and outlives the caller. Without it,
// QEMU runs in its own process group and gets SIGKILL when the caller dies.
// The VMM log and the serial log start empty at every Start. Linux ties that parent-death
// signal to the OS thread that forked the child, so Start locks its
// goroutine to a thread around the fork; a caller that has itself locked
// its goroutine to a thread and lets that goroutine exit still ends the
// thread, and with it the VM. While this process lives a goroutine waits
// for the child so that it never lingers as a zombie.
//
// The VM's life is not tied to ctx: ctx bounds only the wait for QMP.
func (b *Backend) Start(ctx context.Context, spec hypervisor.Spec) (hypervisor.Handle, error) {
	h, err := b.start(ctx, spec)
	if err != nil {
		return hypervisor.Handle{}, fmt.Errorf("qemu: %w", err)
	}
	return h, nil
}

func (b *Backend) start(ctx context.Context, spec hypervisor.Spec) (hypervisor.Handle, error) {
	vm := paths.VM{Dir: spec.Dir}
	for field, p := range map[string]string{"Kernel": spec.Kernel, "Initrd": spec.Initrd, "Disk": spec.Disk} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return hypervisor.Handle{}, fmt.Errorf("%w: %s: %w", ErrInvalidSpec, field, err)
		}
	}
	format, err := DiskFormat(spec.Disk)
	if err != nil {
		return hypervisor.Handle{}, err
	}
	accel, why := b.Accel()
	argv, err := Argv(Launch{Spec: spec, Accel: accel, Layout: vm, DiskFormat: format})
	if err != nil {
		return hypervisor.Handle{}, err
	}
	prog, err := exec.LookPath(b.qemu)
	if err != nil {
		return hypervisor.Handle{}, fmt.Errorf("%w: %s not found (%s)", hypervisor.ErrUnavailable, b.qemu, installHint)
	}
	if err := clearStale(ctx, vm); err != nil {
		return hypervisor.Handle{}, err
	}
	logf, err := os.OpenFile(vm.VMMLog(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return hypervisor.Handle{}, fmt.Errorf("vmm log: %w", err)
	}
	defer func() { _ = logf.Close() }()
	// The exact command line heads the VMM log, for whoever debugs a boot.
	_, _ = fmt.Fprintf(logf, "smolvm: exec %s %s\n", prog, shellQuote(argv))

	cmd := exec.Command(prog, argv...)
	cmd.Dir = spec.Dir
	cmd.Stdout, cmd.Stderr = logf, logf // stdin stays nil: /dev/null
	if spec.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Its own process group too: a terminal's Ctrl-C reaches the caller,
		// which decides how to stop the VM, and not QEMU directly.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	}
	if accel == AccelTCG && why != "" {
		b.accelWarn.Do(func() { b.log.Warn("qemu accelerator", "accel", accel, "why", why) })
	}
	b.log.Debug("qemu exec", "id", spec.ID, "argv", argv, "detach", spec.Detach)
	if err := forkQEMU(cmd, spec.Detach); err != nil {
		return hypervisor.Handle{}, fmt.Errorf("exec %s: %w", prog, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	fail := func(cause error) (hypervisor.Handle, error) {
		_ = cmd.Process.Kill()
		<-exited
		_ = os.Remove(vm.QMP())
		return hypervisor.Handle{}, cause
	}
	id, err := proc.Of(cmd.Process.Pid)
	if err != nil && !errors.Is(err, proc.ErrGone) {
		return fail(err)
	}
	ver, err := b.waitQMP(ctx, vm.QMP(), exited)
	if err != nil {
		select {
		case <-exited:
			if waitErr == nil {
				waitErr = errors.New("exit status 0")
			}
			return fail(fmt.Errorf("%w: %w\nvmm log %s, tail:\n%s\nserial log: %s",
				ErrExited, waitErr, vm.VMMLog(), tail(vm.VMMLog(), 20), vm.SerialLog()))
		default:
		}
		return fail(fmt.Errorf("qmp %s: %w\nvmm log %s, tail:\n%s\nserial log: %s",
			vm.QMP(), err, vm.VMMLog(), tail(vm.VMMLog(), 20), vm.SerialLog()))
	}
	b.log.Info("qemu started", "id", spec.ID, "pid", id.PID, "accel", accel, "qemu", ver, "ssh_port", spec.SSHPort)
	return hypervisor.Handle{
		Backend:   Name,
		PID:       id.PID,
		StartTime: id.StartTime,
		Control:   vm.QMP(),
		Transport: hypervisor.Transport{Kind: "tcp", Addr: fmt.Sprintf("127.0.0.1:%d", spec.SSHPort)},
		Accel:     accel,
	}, nil
}

// forkQEMU starts cmd; without detach it holds the goroutine on one OS
// thread across the fork, so the parent-death signal is tied to a thread
// that lives on in the runtime's pool rather than one being torn down.
func forkQEMU(cmd *exec.Cmd, detach bool) error {
	if !detach {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	return cmd.Start()
}

// waitQMP dials the QMP socket until it greets, QEMU exits, or the start
// timeout or ctx ends. It returns QEMU's version.
func (b *Backend) waitQMP(ctx context.Context, path string, exited <-chan struct{}) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, b.startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		q, err := DialQMP(actx, path)
		acancel()
		if err == nil {
			_ = q.Close()
			return q.Version, nil
		}
		last = err
		select {
		case <-exited:
			return "", last
		case <-ctx.Done():
			return "", fmt.Errorf("%w (last: %w)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// clearStale removes a QMP socket and PID file left by a QEMU that died,
// refusing when the socket still answers.
func clearStale(ctx context.Context, vm paths.VM) error {
	if _, err := os.Lstat(vm.QMP()); err == nil {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		q, err := DialQMP(dctx, vm.QMP())
		cancel()
		if err == nil {
			_ = q.Close()
			return fmt.Errorf("%w: %s answers", ErrAlreadyRunning, vm.QMP())
		}
	}
	for _, p := range []string{vm.QMP(), vm.PIDFile()} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	return nil
}

// tail returns the last n lines of a file (at most 8 KiB of it).
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer func() { _ = f.Close() }()
	const limit = 8 << 10
	st, err := f.Stat()
	if err != nil {
		return "(" + err.Error() + ")"
	}
	off := max(0, st.Size()-limit)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// shellQuote renders argv for humans to paste into a shell.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
		}
	}
	return strings.Join(q, " ")
}

package firecracker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"github.com/smolvm/smolvm/internal/firecracker/api"
	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/kernel"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/proc"
)

// ErrAlreadyRunning is wrapped when the VM's API socket already answers.
var ErrAlreadyRunning = errors.New("vm already running")

// Start launches firecracker for spec, configures it in the order
// Firecracker's own guides use (boot-source, machine-config, drives,
// network-interfaces, vsock) and sends InstanceStart. It returns once the
// VMM runs (the guest is still booting). On any error no process is left
// running and the sockets are removed.
//
// The kernel must be an uncompressed ELF vmlinux (Firecracker's x86_64
// loader takes nothing else): Start checks it with internal/kernel and
// says so. With spec.Detach the process runs in its own session and
// outlives the caller; without it, it gets SIGKILL when the caller dies.
// The VM's life is not tied to ctx: ctx bounds only start-up.
func (b *Backend) Start(ctx context.Context, spec hypervisor.Spec) (hypervisor.Handle, error) {
	h, err := b.start(ctx, spec, nil)
	if err != nil {
		return hypervisor.Handle{}, fmt.Errorf("firecracker: %w", err)
	}
	return h, nil
}

// process is a started firecracker whose exit is being waited for.
type process struct {
	cmd     *exec.Cmd
	id      proc.ID
	exited  chan struct{}
	waitErr error
}

// configure is called once the API answers; snapshot loads replace it.
type configure func(ctx context.Context, c *api.Client, l Launch) error

func (b *Backend) start(ctx context.Context, spec hypervisor.Spec, conf configure) (hypervisor.Handle, error) {
	if err := b.validate(spec, conf == nil); err != nil {
		return hypervisor.Handle{}, err
	}
	l, err := b.Plan(spec)
	if err != nil {
		return hypervisor.Handle{}, err
	}
	if err := clearStale(ctx, l); err != nil {
		return hypervisor.Handle{}, err
	}
	vm := paths.VM{Dir: spec.Dir}
	p, err := b.spawn(spec, l)
	if err != nil {
		return hypervisor.Handle{}, err
	}
	fail := func(cause error) (hypervisor.Handle, error) {
		_ = p.cmd.Process.Kill()
		<-p.exited
		removeSockets(l.APIHost, l.VsockHost)
		return hypervisor.Handle{}, cause
	}
	c := api.New(l.APIHost)
	if err := b.waitAPI(ctx, c, p); err != nil {
		return fail(withLogs(err, vm, l))
	}
	if l.ChrootDir != "" {
		if err := b.linkIntoJail(spec, l); err != nil {
			return fail(err)
		}
	}
	if conf == nil {
		conf = func(ctx context.Context, c *api.Client, l Launch) error { return b.configure(ctx, c, spec, l) }
	}
	if err := conf(ctx, c, l); err != nil {
		select {
		case <-p.exited:
			err = fmt.Errorf("%w (%s): %w", ErrExited, exitDesc(p.waitErr), err)
		default:
		}
		return fail(withLogs(err, vm, l))
	}
	b.log.Info("firecracker started", "id", spec.ID, "pid", p.id.PID, "api", l.APIHost, "vsock", l.VsockHost)
	return hypervisor.Handle{
		Backend:   Name,
		PID:       p.id.PID,
		StartTime: p.id.StartTime,
		Control:   l.APIHost,
		Transport: hypervisor.Transport{Kind: "vsock", Path: l.VsockHost, Port: GuestSSHPort},
		Accel:     "kvm",
	}, nil
}

func (b *Backend) validate(spec hypervisor.Spec, boot bool) error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidSpec, field, fmt.Sprintf(format, a...))
	}
	switch {
	case spec.ID == "":
		return bad("ID", "empty")
	case spec.Dir == "":
		return bad("Dir", "empty")
	}
	if !boot {
		return nil
	}
	switch {
	case spec.VCPUs < 1 || spec.VCPUs > 32:
		return bad("VCPUs", "%d is not in 1..32", spec.VCPUs)
	case spec.MemoryMiB < 1:
		return bad("MemoryMiB", "%d is not positive", spec.MemoryMiB)
	case spec.Network != "" && spec.Network != "tap":
		return bad("Network", "%q is not \"\" or \"tap\"", spec.Network)
	case spec.Network == "tap" && spec.TAP == "":
		return bad("TAP", "empty with Network \"tap\"")
	}
	if _, err := kernel.CheckELF(spec.Kernel); err != nil {
		return fmt.Errorf("%w: Kernel: %w", ErrInvalidSpec, err)
	}
	for field, p := range map[string]string{"Initrd": spec.Initrd, "Disk": spec.Disk} {
		if p == "" && field == "Initrd" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidSpec, field, err)
		}
	}
	return nil
}

// clearStale refuses to start over a live API socket and removes dead ones
// (firecracker refuses to bind an existing path).
func clearStale(ctx context.Context, l Launch) error {
	if _, err := os.Stat(l.APIHost); err == nil {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := api.New(l.APIHost).Info(cctx)
		cancel()
		if err == nil {
			return fmt.Errorf("%w: %s answers", ErrAlreadyRunning, l.APIHost)
		}
	}
	removeSockets(l.APIHost, l.VsockHost)
	return nil
}

func (b *Backend) spawn(spec hypervisor.Spec, l Launch) (*process, error) {
	prog, err := exec.LookPath(l.Argv[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %s not found (see docs/firecracker.md): %w", hypervisor.ErrUnavailable, l.Argv[0], err)
	}
	vm := paths.VM{Dir: spec.Dir}
	if !l.LogViaAPI {
		for _, f := range []string{l.Log, l.Metrics} {
			if err := touch(f); err != nil { // firecracker opens them, it does not create them
				return nil, err
			}
		}
	}
	serial, err := os.OpenFile(vm.SerialLog(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("serial log: %w", err)
	}
	defer func() { _ = serial.Close() }()
	cmd := exec.Command(prog, l.Argv[1:]...) //nolint:gosec // argv built by Plan
	cmd.Dir = spec.Dir
	// Firecracker writes the guest's serial console to stdout; its own
	// panics go to stderr. Its log goes to --log-path (the VMM log).
	cmd.Stdout, cmd.Stderr = serial, serial
	if spec.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	b.log.Debug("firecracker exec", "id", spec.ID, "argv", l.Argv, "detach", spec.Detach)
	if err := fork(cmd, spec.Detach); err != nil {
		return nil, fmt.Errorf("exec %s: %w", prog, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	// Reap the child while this process lives, so it never lingers as a zombie.
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	id, err := proc.Of(cmd.Process.Pid)
	if err != nil && !errors.Is(err, proc.ErrGone) {
		_ = cmd.Process.Kill()
		<-p.exited
		return nil, err
	}
	p.id = id
	return p, nil
}

// fork starts cmd; without detach it holds the goroutine on one OS thread
// across the fork, since Linux ties the parent-death signal to the thread.
func fork(cmd *exec.Cmd, detach bool) error {
	if !detach {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	return cmd.Start()
}

// waitAPI polls GET / until it answers, the process exits, or the socket
// timeout or ctx ends.
func (b *Backend) waitAPI(ctx context.Context, c *api.Client, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, b.socketTimeout)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Info(cctx)
		ccancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-p.exited:
			return fmt.Errorf("%w (%s)", ErrExited, exitDesc(p.waitErr))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w: %s within %s (last error: %s)", ErrSocketTimeout, c.Socket(), b.socketTimeout, last.Error())
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// exitDesc describes how the process ended.
func exitDesc(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

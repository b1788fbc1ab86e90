package smolvm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/smolvm/smolvm/internal/console"
	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/sshx"
	"github.com/smolvm/smolvm/internal/store"
)

// Start boots the VM and waits until its SSH server answers; on the first
// start through the handle that created it, it then injects Config.Env. A
// running VM is left as it is. On failure the hypervisor is stopped, the VM
// is marked "error" with the reason, and the error carries the serial log's
// tail.
func (vm *VM) Start(ctx context.Context) error {
	if err := vm.usable(); err != nil {
		return err
	}
	if err := vm.start(ctx); err != nil {
		return fmt.Errorf("start %s: %w", vm.id, err)
	}
	return nil
}

func (vm *VM) start(ctx context.Context) error {
	if err := reconcile(ctx, vm.st); err != nil {
		return err
	}
	v, err := vm.st.Get(ctx, vm.id)
	if err != nil {
		return mapStoreErr(vm.id, err)
	}
	if v.State == store.StateRunning {
		return nil
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return err
	}
	be, err := backendByName(v.Backend, vm.log)
	if err != nil {
		return err
	}
	if err := vm.st.SetState(ctx, vm.id, store.StateStarting, ""); err != nil {
		return mapStoreErr(vm.id, err)
	}
	bg := context.WithoutCancel(ctx)
	fail := func(err error) error {
		_ = vm.st.SetState(bg, vm.id, store.StateError, err.Error())
		return err
	}
	signer, err := sshx.LoadOrCreateKey(vm.dirs.SSHKey())
	if err != nil {
		return fail(err)
	}
	layout := paths.VM{Dir: v.Dir}
	spec := hypervisor.Spec{
		ID: vm.id, Dir: v.Dir, Kernel: rec.KernelPath, Initrd: rec.InitrdPath, Disk: rec.DiskPath,
		VCPUs: rec.VCPUs, MemoryMiB: rec.MemoryMiB, Network: rec.Network,
		Cmdline: bootCmdline(rec.BootArgs, vm.id, sshx.AuthorizedKey(signer)),
		Detach:  !v.Ephemeral,
	}
	if needsPort(be) {
		ports, err := vm.st.Ports(ctx, vm.id)
		if err != nil || len(ports) == 0 {
			return fail(fmt.Errorf("no ssh port leased: %w", err))
		}
		spec.SSHPort = ports[0]
	}
	if rec.Network == NetworkTAP {
		if err := vm.setupTAP(ctx, &spec); err != nil {
			return fail(err)
		}
	}
	_ = os.Remove(layout.SerialLog()) // this boot's host key line must be this boot's
	vm.opts.progress(Progress{Step: "boot", Detail: fmt.Sprintf("booting %s (%s)", vm.id, be.Name())})
	h, err := be.Start(ctx, spec)
	if err != nil {
		_ = vm.teardownTAP(bg, v)
		return fail(err)
	}
	if err := vm.st.SetHandle(bg, vm.id, h); err != nil {
		_ = be.Stop(bg, h, time.Second)
		return fail(err)
	}
	vm.closeConn()
	if err := vm.waitReady(ctx, be, h, layout); err != nil {
		// The guest never answered: no graceful wait, the caller's deadline
		// has passed already.
		_ = be.Stop(bg, h, 0)
		return fail(fmt.Errorf("%w\n%s", err, serialTail(layout.SerialLog())))
	}
	if err := vm.st.SetState(bg, vm.id, store.StateRunning, ""); err != nil {
		_ = be.Stop(bg, h, 5*time.Second)
		return fail(err)
	}
	vm.opts.progress(Progress{Step: "boot", Detail: "ready", Done: true})
	if env := vm.pendingEnv; len(env) > 0 {
		vm.pendingEnv = nil
		if _, err := vm.SetEnvVars(ctx, env); err != nil {
			_ = vm.Stop(bg, 10*time.Second)
			_ = vm.st.SetState(bg, vm.id, store.StateError, "boot-time env injection failed")
			return fmt.Errorf("inject env: %w", err)
		}
	}
	return nil
}

// bootCmdline appends the per-VM parameters the guest agent reads.
func bootCmdline(args, id, authorizedKey string) string {
	key := base64.StdEncoding.EncodeToString([]byte(authorizedKey))
	return strings.TrimSpace(args) + " smolvm.hostname=" + id + " smolvm.authkey=" + key
}

// waitReady waits for SSH (handshake + a trivial command) while the
// hypervisor lives, bounded by the boot timeout.
func (vm *VM) waitReady(ctx context.Context, be hypervisor.Backend, h hypervisor.Handle, layout paths.VM) error {
	ctx, cancel := context.WithTimeoutCause(ctx, vm.opts.bootTimeout,
		fmt.Errorf("guest not reachable over SSH within %s: %w", vm.opts.bootTimeout, ErrTimeout))
	defer cancel()
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !be.Alive(h) {
					abort(errors.New("hypervisor process exited during boot"))
					return
				}
			}
		}
	}()
	c, err := vm.client(ctx)
	if err != nil {
		return err
	}
	if err := vm.watchBoot(ctx, layout.SerialLog()); err != nil {
		return err
	}
	if err := c.WaitReady(ctx); err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return fmt.Errorf("%w (%w)", cause, err)
		}
		return err
	}
	return nil
}

// client returns the VM's SSH client, creating it from the stored handle.
func (vm *VM) client(ctx context.Context) (*sshx.Client, error) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.ssh != nil {
		return vm.ssh, nil
	}
	v, err := vm.st.Get(ctx, vm.id)
	if err != nil {
		return nil, mapStoreErr(vm.id, err)
	}
	signer, err := sshx.LoadOrCreateKey(vm.dirs.SSHKey())
	if err != nil {
		return nil, err
	}
	layout := paths.VM{Dir: v.Dir}
	c, err := sshx.New(sshx.Config{
		Dial:    dialer(v.Handle.Transport),
		Signer:  signer,
		HostKey: func() (string, error) { return pinnedHostKey(layout) },
		Logger:  vm.log,
	})
	if err != nil {
		return nil, err
	}
	vm.ssh = c
	return c, nil
}

// pinnedHostKey returns the guest's host key: the one pinned at the VM's
// first boot, checked against what this boot printed on the console. A
// guest presenting another key than the console line is refused by sshx; a
// console line that differs from the pinned key is a hard error.
func pinnedHostKey(layout paths.VM) (string, error) {
	f, err := os.Open(layout.SerialLog())
	if err != nil {
		return "", fmt.Errorf("%w: no serial log yet", sshx.ErrNoHostKey)
	}
	rep, err := console.Parse(f)
	_ = f.Close()
	if err != nil {
		return "", err
	}
	if rep.HostKey == "" {
		return "", fmt.Errorf("%w: the guest has not printed it on the serial console", sshx.ErrNoHostKey)
	}
	pinned, err := os.ReadFile(layout.HostKey())
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.WriteFile(layout.HostKey(), []byte(rep.HostKey+"\n"), 0o600); err != nil {
			return "", err
		}
		return rep.HostKey, nil
	case err != nil:
		return "", err
	}
	if strings.TrimSpace(string(pinned)) != rep.HostKey {
		return "", fmt.Errorf("%w: the guest printed a host key that differs from the one pinned at first boot (%s)",
			sshx.ErrHostKeyMismatch, layout.HostKey())
	}
	return rep.HostKey, nil
}

func dialer(t hypervisor.Transport) func(ctx context.Context) (net.Conn, error) {
	switch t.Kind {
	case "vsock":
		return func(ctx context.Context) (net.Conn, error) { return dialVsock(ctx, t.Path, t.Port) }
	default:
		return func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", t.Addr)
		}
	}
}

// serialTail returns the last lines of the serial log for error messages.
func serialTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "serial log " + path + ": " + err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "serial log " + path + " (last lines):\n  " + strings.Join(lines, "\n  ")
}

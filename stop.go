package smolvm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smolvm/smolvm/internal/sshx"
	"github.com/smolvm/smolvm/internal/store"
)

// DefaultStopTimeout is how long Stop waits for a guest to power off before
// it kills the hypervisor.
const DefaultStopTimeout = 10 * time.Second

// Stop powers the VM off: it asks the guest to power off (over SSH, then
// through the hypervisor), waits up to timeout, kills the hypervisor if it
// is still there and verifies it is gone. The disk is kept; Start boots it
// again. Stopping a VM that is not running returns nil.
func (vm *VM) Stop(ctx context.Context, timeout time.Duration) error {
	if err := vm.usable(); err != nil {
		return err
	}
	if err := vm.stop(ctx, timeout); err != nil {
		return fmt.Errorf("stop %s: %w", vm.id, err)
	}
	return nil
}

func (vm *VM) stop(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	if err := reconcile(ctx, vm.st); err != nil {
		return err
	}
	v, err := vm.st.Get(ctx, vm.id)
	if err != nil {
		return mapStoreErr(vm.id, err)
	}
	if !v.State.Live() {
		if v.State == store.StateError {
			return mapStoreErr(vm.id, vm.st.SetState(ctx, vm.id, store.StateStopped, v.LastError))
		}
		return nil
	}
	be, err := backendByName(v.Backend, vm.log)
	if err != nil {
		return err
	}
	bg := context.WithoutCancel(ctx)
	if v.State != store.StateStopping {
		if err := vm.st.SetState(ctx, vm.id, store.StateStopping, ""); err != nil {
			return mapStoreErr(vm.id, err)
		}
	}
	if v.State == store.StateRunning {
		vm.askPoweroff(ctx)
	}
	vm.closeConn()
	if err := be.Stop(bg, v.Handle, timeout); err != nil {
		_ = vm.st.SetState(bg, vm.id, store.StateError, err.Error())
		return err
	}
	if err := vm.teardownTAP(bg, v); err != nil {
		vm.log.Warn("removing the tap network", "err", err)
	}
	return mapStoreErr(vm.id, vm.st.SetState(bg, vm.id, store.StateStopped, ""))
}

// askPoweroff asks the guest to power off cleanly (flushing its disk). It is
// best effort: the hypervisor's own graceful stop follows either way.
func (vm *VM) askPoweroff(ctx context.Context) {
	c, err := vm.client(ctx)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// The connection usually drops before an exit status arrives.
	_, err = c.Run(ctx, "poweroff", sshx.RunOptions{})
	if err != nil && !errors.Is(err, sshx.ErrNoExitStatus) {
		vm.log.Debug("poweroff over ssh", "err", err)
	}
}

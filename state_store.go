package smolvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/store"
)

// record is the part of a VM's configuration kept in the state store. It
// never holds env values: the database is not a secret store.
type record struct {
	VCPUs      int      `json:"vcpus"`
	MemoryMiB  int      `json:"memory_mib"`
	KernelPath string   `json:"kernel"`
	InitrdPath string   `json:"initrd,omitempty"`
	RootfsPath string   `json:"rootfs"`
	DiskPath   string   `json:"disk"`
	DiskMode   DiskMode `json:"disk_mode"`
	BootArgs   string   `json:"boot_args"`
	Network    string   `json:"network,omitempty"`
}

func openState(ctx context.Context, o options) (paths.Dirs, *store.Store, error) {
	dirs, err := paths.Default()
	if err != nil {
		return dirs, nil, err
	}
	if o.dataDir != "" {
		if dirs.Data, err = filepath.Abs(o.dataDir); err != nil {
			return dirs, nil, err
		}
	}
	if o.cacheDir != "" {
		if dirs.Cache, err = filepath.Abs(o.cacheDir); err != nil {
			return dirs, nil, err
		}
	}
	st, err := store.Open(ctx, dirs.DB())
	if err != nil {
		return dirs, nil, fmt.Errorf("open state: %w", err)
	}
	return dirs, st, nil
}

// mapStoreErr turns the store's error kinds into the facade's.
func mapStoreErr(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("vm %q: %w", id, ErrNotFound)
	case errors.Is(err, store.ErrAlreadyExists):
		return fmt.Errorf("vm %q: %w", id, ErrAlreadyExists)
	case errors.Is(err, store.ErrInvalidState):
		return fmt.Errorf("vm %q: %w: %w", id, ErrInvalidState, err)
	}
	return err
}

func decodeRecord(v store.VM) (record, error) {
	var r record
	if err := json.Unmarshal(v.Config, &r); err != nil {
		return r, fmt.Errorf("vm %q: corrupt record: %w", v.ID, err)
	}
	return r, nil
}

func infoOf(v store.VM) Info {
	r, _ := decodeRecord(v)
	in := Info{
		ID: v.ID, State: State(v.State), Backend: v.Backend, Accel: v.Handle.Accel,
		VCPUs: r.VCPUs, MemoryMiB: r.MemoryMiB, KernelPath: r.KernelPath, InitrdPath: r.InitrdPath,
		RootfsPath: r.RootfsPath, DiskPath: r.DiskPath, DiskMode: r.DiskMode, Network: r.Network,
		Dir: v.Dir, SerialLog: paths.VM{Dir: v.Dir}.SerialLog(), Ephemeral: v.Ephemeral,
		LastError: v.LastError, CreatedAt: v.CreatedAt,
	}
	if store.State(v.State).Live() {
		in.PID = v.Handle.PID
		if v.Handle.Transport.Kind == "tcp" {
			in.SSHAddr = v.Handle.Transport.Addr
		}
	}
	return in
}

// reconcile marks VMs whose hypervisor died and deletes dead one-shot VMs.
func reconcile(ctx context.Context, st *store.Store) error {
	changes, err := st.Reconcile(ctx, aliveHandle)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if !c.Ephemeral {
			continue
		}
		if c.Dir != "" {
			_ = os.RemoveAll(c.Dir)
		}
		if err := st.Delete(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

func aliveHandle(h hypervisor.Handle) bool {
	be, err := backendByName(h.Backend, nil)
	if err != nil || h.PID == 0 {
		return false
	}
	return be.Alive(h)
}

// List returns every recorded VM, after reconciling records with the
// processes really running.
func List(ctx context.Context, opts ...Option) ([]Info, error) {
	o := buildOptions(opts)
	_, st, err := openState(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	if err := reconcile(ctx, st); err != nil {
		return nil, err
	}
	vms, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(vms))
	for _, v := range vms {
		out = append(out, infoOf(v))
	}
	return out, nil
}

// Info returns the VM's recorded state.
func (vm *VM) Info(ctx context.Context) (Info, error) {
	if err := vm.usable(); err != nil {
		return Info{}, err
	}
	if err := reconcile(ctx, vm.st); err != nil {
		return Info{}, err
	}
	v, err := vm.st.Get(ctx, vm.id)
	if err != nil {
		return Info{}, mapStoreErr(vm.id, err)
	}
	return infoOf(v), nil
}

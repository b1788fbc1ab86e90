package smolvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/store"
)

// cleanup is a stack of undo steps for a constructor that can fail half-way:
// push after each step succeeds, release on success, run on failure.
type cleanup struct{ fns []func() }

func (c *cleanup) push(f func()) { c.fns = append(c.fns, f) }
func (c *cleanup) release()      { c.fns = nil }
func (c *cleanup) run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
	c.fns = nil
}

// create records the VM, makes its directory and disk, and leases its port.
func (vm *VM) create(ctx context.Context, cfg Config) (err error) {
	undo := &cleanup{}
	defer func() {
		if err != nil {
			undo.run()
		}
	}()
	bgctx := context.WithoutCancel(ctx)

	if cfg.autoImage() {
		img, err := defaultImage(ctx, vm.dirs, vm.opts)
		if err != nil {
			return err
		}
		cfg.KernelPath, cfg.InitrdPath, cfg.RootfsPath = img.kernel, img.initrd, img.rootfs
	}
	be, err := selectBackend(ctx, cfg.Backend, vm.log)
	if err != nil {
		return err
	}
	if cfg.Network == NetworkTAP && be.Name() != "firecracker" {
		return invalid("Config.Network", "tap networking needs the firecracker backend (got %s)", be.Name())
	}
	layout := vm.dirs.VM(cfg.ID)
	for _, s := range layout.Sockets() {
		if err := paths.CheckSocket(s); err != nil {
			return err
		}
	}
	rec := record{
		VCPUs: cfg.VCPUs, MemoryMiB: cfg.MemoryMiB, KernelPath: cfg.KernelPath,
		InitrdPath: cfg.InitrdPath, RootfsPath: cfg.RootfsPath, DiskMode: cfg.DiskMode,
		BootArgs: cfg.BootArgs, Network: cfg.Network, DiskPath: layout.Disk(),
	}
	if cfg.DiskMode == DiskShared {
		rec.DiskPath = cfg.RootfsPath
	}
	extract, err := needsVmlinux(be, cfg.KernelPath)
	if err != nil {
		return err
	}
	if extract {
		rec.KernelPath = filepath.Join(layout.Dir, "vmlinux")
	}
	if err := vm.st.Create(ctx, store.VM{
		ID: cfg.ID, State: store.StateCreated, Backend: be.Name(), Config: mustJSON(rec),
		Dir: layout.Dir, Ephemeral: vm.opts.ephemeral,
	}); err != nil {
		return mapStoreErr(cfg.ID, err)
	}
	undo.push(func() { _ = vm.st.Delete(bgctx, cfg.ID) })

	if err := os.MkdirAll(layout.Dir, 0o700); err != nil {
		return err
	}
	undo.push(func() { _ = os.RemoveAll(layout.Dir) })

	disk, err := be.PrepareDisk(ctx, cfg.RootfsPath, layout.Disk(), hypervisor.DiskMode(cfg.DiskMode))
	if err != nil {
		return fmt.Errorf("prepare disk: %w", err)
	}
	if disk != rec.DiskPath {
		return fmt.Errorf("prepare disk: backend made %q, expected %q", disk, rec.DiskPath)
	}
	if cfg.DiskMode == DiskIsolated {
		// The guest's disk may hold its secrets (the env file): owner only.
		if err := os.Chmod(disk, 0o600); err != nil {
			return err
		}
	}
	if extract {
		if err := extractVmlinux(cfg.KernelPath, rec.KernelPath); err != nil {
			return err
		}
	}
	if needsPort(be) {
		if _, err := vm.st.LeasePort(ctx, cfg.ID); err != nil {
			return fmt.Errorf("lease ssh port: %w", err)
		}
	}
	if cfg.Network == NetworkTAP {
		if _, err := vm.st.LeaseIP(ctx, cfg.ID); err != nil {
			return fmt.Errorf("lease guest address: %w", err)
		}
	}
	vm.pendingEnv = cfg.Env
	undo.release()
	vm.log.Debug("created", "backend", be.Name(), "disk", rec.DiskPath, "env_keys", slices.Sorted(maps.Keys(cfg.Env)))
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return b
}

// Delete stops the VM if it runs, then removes its disk, directory, leases
// and record. Deleting a VM that does not exist returns ErrNotFound.
func (vm *VM) Delete(ctx context.Context) error {
	if err := vm.usable(); err != nil {
		return err
	}
	v, err := vm.st.Get(ctx, vm.id)
	if err != nil {
		return mapStoreErr(vm.id, err)
	}
	if err := vm.Stop(ctx, DefaultStopTimeout); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete %s: %w", vm.id, err)
	}
	vm.closeConn()
	if v.Dir != "" {
		if err := os.RemoveAll(v.Dir); err != nil {
			return fmt.Errorf("delete %s: %w", vm.id, err)
		}
	}
	if err := vm.st.Delete(ctx, vm.id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", vm.id, err)
	}
	return nil
}

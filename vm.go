// Package smolvm runs untrusted code in throw-away microVMs.
//
// A VM boots from a kernel, an optional initrd and a root filesystem (by
// default smolvm's own image, built locally on first use), and is reached
// over SSH: Run executes shell commands and returns exit code, stdout and
// stderr byte-exact; SetEnvVars/ListEnvVars/UnsetEnvVars manage the env file
// every later login shell in the guest sources (format: package env).
//
//	vm, err := smolvm.New(ctx, smolvm.Config{Env: map[string]string{"APP_MODE": "production"}})
//	if err != nil { ... }
//	defer vm.Close()
//	res, err := vm.Run(ctx, "echo $APP_MODE") // res.Output() == "production"
//
// VMs are daemonless: the hypervisor process outlives the program that
// created it (unless Ephemeral), and any process can Attach to a VM by ID.
// State lives in a SQLite database under the data dir.
package smolvm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/sshx"
	"github.com/smolvm/smolvm/internal/store"
)

// VM is a handle on one VM. It is safe for concurrent use: many Runs may
// share it (one SSH connection, a session each).
type VM struct {
	id    string
	dirs  paths.Dirs
	st    *store.Store
	log   *slog.Logger
	opts  options
	owned bool // created through this handle: Close deletes it

	// pendingEnv is Config.Env, injected by the first Start of this handle.
	pendingEnv map[string]string

	mu     sync.Mutex
	ssh    *sshx.Client
	closed bool
}

// ID returns the VM's ID.
func (vm *VM) ID() string { return vm.id }

// New creates a VM from cfg, boots it, waits until its SSH server answers
// and injects cfg.Env. On any error nothing is left behind (no process,
// disk, directory, record or lease). Close stops and deletes it.
func New(ctx context.Context, cfg Config, opts ...Option) (*VM, error) {
	vm, err := Create(ctx, cfg, opts...)
	if err != nil {
		return nil, err
	}
	if err := vm.Start(ctx); err != nil {
		delErr := vm.Delete(context.WithoutCancel(ctx))
		vm.closeConn()
		_ = vm.st.Close()
		return nil, errors.Join(err, delErr)
	}
	return vm, nil
}

// Create validates cfg and records a VM without booting it (state
// "created"): its disk is prepared and its SSH port leased. Start boots it.
func Create(ctx context.Context, cfg Config, opts ...Option) (*VM, error) {
	o := buildOptions(opts)
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dirs, st, err := openState(ctx, o)
	if err != nil {
		return nil, err
	}
	vm := &VM{id: cfg.ID, dirs: dirs, st: st, log: o.logger.With("vm", cfg.ID), opts: o, owned: true}
	if err := vm.create(ctx, cfg); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("create %s: %w", cfg.ID, err)
	}
	return vm, nil
}

// Attach returns a handle on an existing VM, e.g. one created by another
// process. Close on an attached handle only releases the handle.
func Attach(ctx context.Context, id string, opts ...Option) (*VM, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	dirs, st, err := openState(ctx, o)
	if err != nil {
		return nil, err
	}
	if _, err := st.Get(ctx, id); err != nil {
		_ = st.Close()
		return nil, mapStoreErr(id, err)
	}
	return &VM{id: id, dirs: dirs, st: st, log: o.logger.With("vm", id), opts: o}, nil
}

// ErrClosed is returned by every method of a VM handle after Close or
// Release. It matches ErrInvalidState.
var ErrClosed = fmt.Errorf("vm handle is closed: %w", ErrInvalidState)

// Close releases the handle. A VM created through this handle is stopped
// and deleted (one already deleted is fine); an attached one is left as it
// is. Closing twice returns nil.
func (vm *VM) Close() error {
	if vm.isClosed() {
		return nil
	}
	var err error
	if vm.owned {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err = vm.Delete(ctx); errors.Is(err, ErrNotFound) {
			err = nil
		}
	}
	vm.closeConn()
	vm.mu.Lock()
	vm.closed = true
	vm.mu.Unlock()
	if cerr := vm.st.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

func (vm *VM) isClosed() bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.closed
}

// usable returns ErrClosed after Close or Release.
func (vm *VM) usable() error {
	if vm.isClosed() {
		return fmt.Errorf("vm %q: %w", vm.id, ErrClosed)
	}
	return nil
}

func (vm *VM) closeConn() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.ssh != nil {
		_ = vm.ssh.Close()
		vm.ssh = nil
	}
}

// Release closes the handle without stopping or deleting the VM, even one
// created through it: the VM keeps running for later Attach calls. A
// Config.Env not injected yet (Create, then Release before Start) is
// dropped, and Release says so with an error (the handle is released
// anyway): smolvm never stores env values on the host.
func (vm *VM) Release() error {
	vm.owned = false
	pending := len(vm.pendingEnv) > 0
	vm.pendingEnv = nil
	err := vm.Close()
	if pending && err == nil {
		err = fmt.Errorf("vm %q released before Start: its Config.Env was not injected: %w", vm.id, ErrInvalidState)
	}
	return err
}

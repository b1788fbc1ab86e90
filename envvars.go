package smolvm

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/smolvm/smolvm/env"
	"github.com/smolvm/smolvm/internal/envsync"
)

// SetEnvVars writes vars into the guest's env file (/etc/profile.d/
// smolvm_env.sh), merging with what is there (Replace() replaces the whole
// set), and returns the sorted names present afterwards. Keys and values
// are validated before any guest I/O. Values travel on the SSH session's
// stdin, never on a command line; the write is atomic and serialised in
// the guest, so concurrent callers lose nothing. Shells already open in the
// guest see the change only after sourcing the file again.
func (vm *VM) SetEnvVars(ctx context.Context, vars map[string]string, opts ...EnvOption) ([]string, error) {
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	if err := env.Validate(vars); err != nil {
		return nil, &ValidationError{Field: "Env", Err: err}
	}
	if err := checkReserved("Env", vars); err != nil {
		return nil, err
	}
	r, err := vm.envRunner(ctx)
	if err != nil {
		return nil, err
	}
	names, err := envsync.Set(ctx, r, vars, o.replace)
	if err != nil {
		return nil, fmt.Errorf("set env in %s: %w", vm.id, err)
	}
	vm.log.Debug("env set", "keys", slices.Sorted(maps.Keys(vars)), "replace", o.replace)
	return names, nil
}

// ListEnvVars returns the variables in the guest's env file.
func (vm *VM) ListEnvVars(ctx context.Context) (map[string]string, error) {
	r, err := vm.envRunner(ctx)
	if err != nil {
		return nil, err
	}
	vars, err := envsync.List(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("list env in %s: %w", vm.id, err)
	}
	return vars, nil
}

// UnsetEnvVars removes keys from the guest's env file and returns the
// removed keys with their old values. Keys that are not set are ignored;
// when none is set the file is not written at all.
func (vm *VM) UnsetEnvVars(ctx context.Context, keys []string) (map[string]string, error) {
	for _, k := range keys {
		if err := env.ValidateKey(k); err != nil {
			return nil, &ValidationError{Field: "Env", Err: err}
		}
	}
	r, err := vm.envRunner(ctx)
	if err != nil {
		return nil, err
	}
	removed, err := envsync.Unset(ctx, r, keys)
	if err != nil {
		return nil, fmt.Errorf("unset env in %s: %w", vm.id, err)
	}
	vm.log.Debug("env unset", "keys", slices.Sorted(maps.Keys(removed)))
	return removed, nil
}

func (vm *VM) envRunner(ctx context.Context) (envsync.Runner, error) {
	if err := vm.usable(); err != nil {
		return nil, err
	}
	c, err := vm.runningClient(ctx)
	if err != nil {
		return nil, err
	}
	return c.EnvRunner(), nil
}

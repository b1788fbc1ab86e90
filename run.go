package smolvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smolvm/smolvm/internal/sshx"
	"github.com/smolvm/smolvm/internal/store"
)

// Run runs cmd in the guest and returns its exit code and exact output.
//
// By default cmd runs in a login shell (`/bin/sh -lc`, with cmd passed as
// one quoted argument, so quotes, `$` and newlines in it behave as typed),
// which sources /etc/profile and so the env file. Raw() skips the profile.
// A non-zero exit is a Result, not an error. When Timeout (or ctx) ends the
// command its process group is killed and the error is a
// *CommandTimeoutError carrying the output so far (errors.Is ErrTimeout).
// A session that ends without an exit status is an error. Run keeps the
// whole output in memory: for output of unknown size from untrusted code,
// use RunStream (or a Timeout).
func (vm *VM) Run(ctx context.Context, cmd string, opts ...RunOption) (*Result, error) {
	var stdout, stderr bytes.Buffer
	res, err := vm.RunStream(ctx, cmd, &stdout, &stderr, opts...)
	if res != nil {
		res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	}
	var te *CommandTimeoutError
	if errors.As(err, &te) {
		te.Result = res
	}
	return res, err
}

// RunStream is Run writing the command's stdout and stderr to the given
// writers as they arrive (nil discards). The returned Result has no output.
// When a writer fails, the command is killed and its error returned.
func (vm *VM) RunStream(ctx context.Context, cmd string, stdout, stderr io.Writer, opts ...RunOption) (*Result, error) {
	if err := vm.usable(); err != nil {
		return nil, err
	}
	var o runOptions
	for _, f := range opts {
		f(&o)
	}
	if strings.TrimSpace(cmd) == "" {
		return nil, invalid("command", "is empty")
	}
	if err := validateRunEnv(o.env); err != nil {
		return nil, err
	}
	c, err := vm.runningClient(ctx)
	if err != nil {
		return nil, err
	}
	exit, err := c.Run(ctx, cmd, sshx.RunOptions{
		Stdin: o.stdin, Stdout: stdout, Stderr: stderr,
		Env: o.env, Timeout: o.timeout, Login: !o.raw,
	})
	res := &Result{ExitCode: exit.Code, Signal: exit.Signal}
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, sshx.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return res, &CommandTimeoutError{Result: res, Err: err}
	}
	return nil, fmt.Errorf("run in %s: %w", vm.id, err)
}

// runningClient returns the SSH client after checking the VM runs.
func (vm *VM) runningClient(ctx context.Context) (*sshx.Client, error) {
	v, err := vm.st.Get(ctx, vm.id)
	if err != nil {
		return nil, mapStoreErr(vm.id, err)
	}
	if v.State != store.StateRunning {
		return nil, fmt.Errorf("vm %q is %s, not running: %w", vm.id, v.State, ErrInvalidState)
	}
	if be, err := backendByName(v.Backend, vm.log); err == nil && !be.Alive(v.Handle) {
		_ = reconcile(ctx, vm.st)
		return nil, fmt.Errorf("vm %q: hypervisor process is gone: %w", vm.id, ErrInvalidState)
	}
	return vm.client(ctx)
}

package smolvm

import (
	"errors"
	"fmt"
)

// The closed set of error kinds smolvm returns, wrapped with context. Test
// with errors.Is. A guest command's non-zero exit is not an error: it is
// Result.ExitCode.
var (
	// ErrNotFound: no VM with that ID.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a VM with that ID exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidState: the VM is not in a state that allows the operation
	// (e.g. exec on a stopped VM).
	ErrInvalidState = errors.New("invalid state")
	// ErrTimeout: a deadline passed (boot, command, stop).
	ErrTimeout = errors.New("timeout")
	// ErrUnavailable: a host requirement is missing (hypervisor, tool, KVM).
	ErrUnavailable = errors.New("unavailable")
	// ErrInvalid: a validation error; the concrete error is *ValidationError.
	ErrInvalid = errors.New("invalid argument")
)

// ValidationError says which field of a call's input is wrong and why.
// It matches ErrInvalid with errors.Is.
type ValidationError struct {
	Field string // e.g. "Config.MemoryMiB"
	Msg   string // e.g. "must be between 128 and 16384, got 64"
	Err   error  // optional underlying error (e.g. from package env)
}

func (e *ValidationError) Error() string {
	if e.Err != nil && e.Msg == "" {
		return fmt.Sprintf("invalid %s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Msg)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the underlying error, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// CommandTimeoutError is returned by Run when a command's timeout (or the
// caller's context) ended it; the process group was killed. It carries the
// output captured until then and matches ErrTimeout.
type CommandTimeoutError struct {
	Result *Result
	Err    error
}

func (e *CommandTimeoutError) Error() string { return "command timed out: " + e.Err.Error() }

// Is makes errors.Is(err, ErrTimeout) true.
func (e *CommandTimeoutError) Is(target error) bool { return target == ErrTimeout }

// Unwrap returns the cause (a deadline or cancellation).
func (e *CommandTimeoutError) Unwrap() error { return e.Err }

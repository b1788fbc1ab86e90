package store

import "errors"

// The store's error kinds. Every error the store returns about a VM wraps at
// most one of them and names the VM id; the facade wraps them again.
var (
	// ErrNotFound means no VM (or no lease) with that id exists.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a VM with that id is already recorded.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidState means a state transition the transition table forbids.
	ErrInvalidState = errors.New("invalid state")
	// ErrExhausted means no free port or address could be leased.
	ErrExhausted = errors.New("no free lease")
)

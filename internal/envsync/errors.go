package envsync

import (
	"errors"
	"fmt"
)

// ErrProtocol is matched by an error caused by guest output that does not
// follow the envsync protocol (for example a shell that is not POSIX, or a
// startup file that prints to stdout).
var ErrProtocol = errors.New("envsync: unexpected guest output")

// ErrGuest is matched by every *GuestError.
var ErrGuest = errors.New("envsync: guest command failed")

// GuestError reports that the guest side of an operation exited with an
// error. The env file is then unchanged: the guest script commits with a
// single rename as its last file operation.
type GuestError struct {
	Op      string // "set", "list" or "unset"
	Message string // the last lines the guest command wrote to stderr; never holds a value
	Err     error  // what Process.Wait returned
}

// Error reads "envsync set: guest: <message>: <wait error>".
func (e *GuestError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("envsync %s: guest: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("envsync %s: guest: %s: %v", e.Op, e.Message, e.Err)
}

// Unwrap returns the wait error.
func (e *GuestError) Unwrap() error { return e.Err }

// Is reports whether target is ErrGuest.
func (e *GuestError) Is(target error) bool { return target == ErrGuest }

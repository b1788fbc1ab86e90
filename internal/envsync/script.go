package envsync

import (
	_ "embed"
	"fmt"
	"path"
	"strings"

	"github.com/smolvm/smolvm/env"
)

// guestScript is the fixed POSIX sh program that runs in the guest; the
// host prepends three assignments (m, lm, f) and nothing else.
//
//go:embed guest.sh
var guestScript string

// LockMode selects how the guest script serialises writers.
type LockMode int

const (
	// LockAuto uses flock(1) when the guest has it, else LockLink.
	LockAuto LockMode = iota
	// LockFlock always uses flock(1) on the file "."+base+".flock" next
	// to the env file; the operation fails when the guest lacks flock.
	LockFlock
	// LockLink uses a symlink "."+base+".lock" next to the env file that
	// names its owner (pid, start time, boot id); a lock whose owner is
	// dead is broken. It needs only ln, readlink and /proc (or kill -0).
	LockLink
)

// String returns "auto", "flock" or "link".
func (m LockMode) String() string {
	switch m {
	case LockFlock:
		return "flock"
	case LockLink:
		return "link"
	case LockAuto:
		return "auto"
	}
	return fmt.Sprintf("LockMode(%d)", int(m))
}

// mode is the guest script's m variable.
type mode string

const (
	modeList   mode = "list"
	modeUpdate mode = "update"
)

// command builds the guest command for one operation on file p.
func command(m mode, lock LockMode, p string) (string, error) {
	if err := checkPath(p); err != nil {
		return "", err
	}
	switch lock {
	case LockAuto, LockFlock, LockLink:
	default:
		return "", fmt.Errorf("envsync: invalid lock mode %d", int(lock))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "m=%s\nlm=%s\nf=%s\n", m, lock, env.Quote(p))
	b.WriteString(guestScript)
	return b.String(), nil
}

// checkPath accepts a clean absolute path below / whose base name is made
// of [A-Za-z0-9._-] and does not start with a dot; the script derives its
// temp and lock names from that base, so it must hold no glob characters.
func checkPath(p string) error {
	bad := func(why string) error { return fmt.Errorf("envsync: env file path %q: %s", p, why) }
	if !path.IsAbs(p) || path.Clean(p) != p {
		return bad("not a clean absolute path")
	}
	dir, base := path.Split(p)
	if dir == "/" || base == "" {
		return bad("must be a file inside a directory")
	}
	if strings.ContainsAny(p, "\x00\n") {
		return bad("contains NUL or newline")
	}
	if base[0] == '.' {
		return bad("base name starts with a dot")
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return bad("base name may only hold letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}

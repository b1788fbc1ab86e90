// Package network gives Firecracker VMs TAP networking (the --network tap
// option, root only): one TAP device per VM with the host side of a
// point-to-point subnet, NAT (masquerade) to the outside and forward rules
// in smolvm's own nftables table, VM-to-VM traffic dropped, new inbound
// connections to a guest dropped. Every rule carries the VM id in its
// comment (nftables user data), so Delete removes exactly one VM's rules
// and device, and Reconcile removes what no known VM owns.
package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
)

// TAPPrefix starts every TAP device name smolvm creates; the VM-to-VM
// drop rule matches it.
const TAPPrefix = "smv"

// DefaultTable is smolvm's nftables table (family inet).
const DefaultTable = "smolvm"

// ErrInvalid is wrapped by validation errors; the message names the field.
var ErrInvalid = errors.New("invalid network config")

// Options configures a Manager. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Table is the nftables table name; empty means DefaultTable.
	Table string
}

// Manager creates and removes VMs' TAP devices and nftables rules in the
// calling process's network namespace. Methods must not run concurrently
// with each other on the same namespace.
type Manager struct {
	log   *slog.Logger
	table string
}

// New returns a Manager. It touches nothing until Setup.
func New(o Options) *Manager {
	m := &Manager{log: o.Logger, table: o.Table}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.table == "" {
		m.table = DefaultTable
	}
	return m
}

// VM is one VM's network: its id and the addresses leased for it (the
// state store's LeaseIP gives them).
type VM struct {
	ID        string
	Host      netip.Addr // host side, on the TAP device
	Guest     netip.Addr // the guest's address
	PrefixLen int        // subnet size, e.g. 30
	// Owner is the uid allowed to open the TAP (the user firecracker runs
	// as); negative leaves it root-only.
	Owner int
}

func (v VM) validate() error {
	switch {
	case v.ID == "":
		return fmt.Errorf("%w: ID: empty", ErrInvalid)
	case !v.Host.Is4():
		return fmt.Errorf("%w: Host: %v is not IPv4", ErrInvalid, v.Host)
	case !v.Guest.Is4():
		return fmt.Errorf("%w: Guest: %v is not IPv4", ErrInvalid, v.Guest)
	case v.PrefixLen < 8 || v.PrefixLen > 30:
		return fmt.Errorf("%w: PrefixLen: %d is not in 8..30", ErrInvalid, v.PrefixLen)
	case v.Host == v.Guest:
		return fmt.Errorf("%w: Guest: same as Host (%v)", ErrInvalid, v.Host)
	}
	p := netip.PrefixFrom(v.Host, v.PrefixLen).Masked()
	if !p.Contains(v.Guest) {
		return fmt.Errorf("%w: Guest: %v is not in %v", ErrInvalid, v.Guest, p)
	}
	return nil
}

// TAPName is the TAP device name for a VM id: TAPPrefix plus 12 hex digits
// of the id's SHA-256 (15 bytes, the kernel's IFNAMSIZ limit less NUL).
func TAPName(vmID string) string {
	s := sha256.Sum256([]byte(vmID))
	return TAPPrefix + hex.EncodeToString(s[:6])
}

// GuestMAC is a locally administered unicast MAC derived from the guest's
// IPv4 address (06:00:a.b.c.d), stable for a lease.
func GuestMAC(guest netip.Addr) string {
	b := guest.As4()
	return fmt.Sprintf("06:00:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// KernelIPArg is the kernel command-line parameter configuring the guest's
// eth0 statically: ip=<guest>::<host>:<netmask>::eth0:off.
func KernelIPArg(guest, host netip.Addr, prefixLen int) string {
	mask := net.IP(net.CIDRMask(prefixLen, 32)).String()
	return fmt.Sprintf("ip=%s::%s:%s::eth0:off", guest, host, mask)
}

// tag is the comment every rule of a VM carries.
func tag(vmID string) string { return "smolvm-vm:" + vmID }

func vmOfTag(s string) (string, bool) { return strings.CutPrefix(s, "smolvm-vm:") }

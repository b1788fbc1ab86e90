package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// IPPool is the range TAP-mode VMs get their point-to-point subnets from.
var IPPool = netip.MustParsePrefix("172.30.0.0/16")

// IPPrefixLen is the size of each VM's subnet: a /30 holds exactly the
// host side and the guest side.
const IPPrefixLen = 30

// ipSlots is how many /30 subnets IPPool holds.
func ipSlots() int { return 1 << (IPPrefixLen - IPPool.Bits()) }

// IPLease is one VM's point-to-point subnet for the Firecracker TAP option.
type IPLease struct {
	Subnet    netip.Prefix // e.g. 172.30.0.4/30
	Host      netip.Addr   // the host's address on the TAP device (.5)
	Guest     netip.Addr   // the guest's address (.6)
	PrefixLen int          // always IPPrefixLen
}

// LeaseIP returns the VM's subnet, leasing the lowest free /30 of IPPool
// when it has none. The VM keeps the same lease until ReleaseIP or Delete;
// no two VMs ever hold the same subnet. A full pool fails with ErrExhausted.
func (s *Store) LeaseIP(ctx context.Context, vmID string) (IPLease, error) {
	var slot int
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := vmExists(ctx, tx, vmID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT slot FROM ip_leases WHERE vm_id = ?`, vmID).Scan(&slot)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The lowest slot s such that s is free: 0, or one past a leased
		// slot whose successor is free.
		err = tx.QueryRowContext(ctx, `SELECT MIN(s) FROM (
				SELECT 0 AS s WHERE NOT EXISTS (SELECT 1 FROM ip_leases WHERE slot = 0)
				UNION ALL
				SELECT slot + 1 FROM ip_leases a
				WHERE NOT EXISTS (SELECT 1 FROM ip_leases b WHERE b.slot = a.slot + 1))`).Scan(&slot)
		if err != nil {
			return err
		}
		if slot >= ipSlots() {
			return ErrExhausted
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO ip_leases (vm_id, slot, leased_at) VALUES (?, ?, ?)`,
			vmID, slot, s.now().UnixNano())
		return err
	})
	if err != nil {
		return IPLease{}, fmt.Errorf("lease ip for vm %s: %w", vmID, err)
	}
	return leaseOf(slot), nil
}

// IP returns the VM's current subnet lease, or an error wrapping
// ErrNotFound when it has none.
func (s *Store) IP(ctx context.Context, vmID string) (IPLease, error) {
	var slot int
	err := s.db.QueryRowContext(ctx, `SELECT slot FROM ip_leases WHERE vm_id = ?`, vmID).Scan(&slot)
	if errors.Is(err, sql.ErrNoRows) {
		return IPLease{}, fmt.Errorf("ip of vm %s: %w", vmID, ErrNotFound)
	}
	if err != nil {
		return IPLease{}, fmt.Errorf("ip of vm %s: %w", vmID, err)
	}
	return leaseOf(slot), nil
}

// ReleaseIP frees the VM's subnet lease. Releasing none is not an error.
func (s *Store) ReleaseIP(ctx context.Context, vmID string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM ip_leases WHERE vm_id = ?`, vmID)
		return err
	})
	if err != nil {
		return fmt.Errorf("release ip of vm %s: %w", vmID, err)
	}
	return nil
}

// leaseOf maps a slot number to its subnet: slot n is the n-th /30 of IPPool.
func leaseOf(slot int) IPLease {
	base := IPPool.Addr().As4()
	off := uint32(slot) << (32 - IPPrefixLen) // #nosec G115 -- 0 <= slot < ipSlots()
	n := binary.BigEndian.Uint32(base[:])
	addr := func(i uint32) netip.Addr {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], n+off+i)
		return netip.AddrFrom4(b)
	}
	return IPLease{
		Subnet:    netip.PrefixFrom(addr(0), IPPrefixLen),
		Host:      addr(1),
		Guest:     addr(2),
		PrefixLen: IPPrefixLen,
	}
}

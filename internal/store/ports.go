package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// portAttempts bounds LeasePort's retries when the port the kernel offered
// is already leased to some VM (whose process may not hold it right now).
const portAttempts = 64

// LeasePort picks a TCP port on 127.0.0.1 that is free now (bind to port 0,
// read the port, close) and records it as leased to the VM. The port's
// uniqueness in the table means no two VMs, in any process, ever hold the
// same lease; a port already leased is skipped and another one tried. The
// port is not held open: the caller binds it (e.g. QEMU's hostfwd) soon after
// and retries the start with a fresh lease if something else took it.
func (s *Store) LeasePort(ctx context.Context, vmID string) (int, error) {
	for range portAttempts {
		port, err := s.freePort(ctx)
		if err != nil {
			return 0, fmt.Errorf("lease port for vm %s: %w", vmID, err)
		}
		var taken bool
		err = s.write(ctx, func(tx *sql.Tx) error {
			if err := vmExists(ctx, tx, vmID); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO port_leases (port, vm_id, leased_at)
				VALUES (?, ?, ?) ON CONFLICT (port) DO NOTHING`, port, vmID, s.now().UnixNano())
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			taken = n == 0
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("lease port for vm %s: %w", vmID, err)
		}
		if !taken {
			return port, nil
		}
	}
	return 0, fmt.Errorf("lease port for vm %s: %d ports offered were all leased: %w",
		vmID, portAttempts, ErrExhausted)
}

// Ports returns the ports leased to the VM, ascending (none: empty).
func (s *Store) Ports(ctx context.Context, vmID string) ([]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT port FROM port_leases WHERE vm_id = ? ORDER BY port`, vmID)
	if err != nil {
		return nil, fmt.Errorf("ports of vm %s: %w", vmID, err)
	}
	defer func() { _ = rows.Close() }()
	var out []int
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("ports of vm %s: %w", vmID, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ports of vm %s: %w", vmID, err)
	}
	return out, nil
}

// ReleasePorts removes every port lease of the VM. Releasing none is not an
// error.
func (s *Store) ReleasePorts(ctx context.Context, vmID string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM port_leases WHERE vm_id = ?`, vmID)
		return err
	})
	if err != nil {
		return fmt.Errorf("release ports of vm %s: %w", vmID, err)
	}
	return nil
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	ap, err := netip.ParseAddrPort(l.Addr().String())
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return int(ap.Port()), nil
}

// vmExists returns ErrNotFound when no VM has that id.
func vmExists(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM vms WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// Change is one VM Reconcile found dead.
type Change struct {
	ID string
	// From and To are the states before and after. They are equal for an
	// ephemeral VM that was already stopped or failed and is only reported
	// for deletion.
	From, To State
	// Ephemeral VMs are to be deleted by the caller (Delete, and remove Dir).
	Ephemeral bool
	Dir       string
}

// Reconcile brings the recorded states in line with the processes that are
// really alive. Every VM in starting, running or stopping whose hypervisor
// process is gone (alive(handle) is false) moves to stopped, or to error
// when it was starting; the move is re-checked inside its own transaction, so
// a VM another process changed meanwhile is left alone. A VM in starting
// with no handle yet is skipped until StaleAfter has passed since its last
// update (its starter may still be launching it). Ephemeral VMs that moved,
// and ephemeral VMs left stopped or failed for longer than StaleAfter, are
// reported with Ephemeral set so the caller can delete them and their dirs.
//
// alive is called outside any transaction, once per live VM with a handle.
func (s *Store) Reconcile(ctx context.Context, alive func(hypervisor.Handle) bool) ([]Change, error) {
	vms, err := s.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	var out []Change
	for _, v := range vms {
		stale := s.now().Sub(v.UpdatedAt) > StaleAfter
		switch {
		case v.State.Live():
			if v.Handle.PID == 0 && !stale {
				continue
			}
			if v.Handle.PID != 0 && alive(v.Handle) {
				continue
			}
			c, ok, err := s.markDead(ctx, v)
			if err != nil {
				return out, fmt.Errorf("reconcile: %w", err)
			}
			if ok {
				out = append(out, c)
			}
		case v.Ephemeral && stale && (v.State == StateStopped || v.State == StateError):
			out = append(out, Change{ID: v.ID, From: v.State, To: v.State, Ephemeral: true, Dir: v.Dir})
		}
	}
	return out, nil
}

// markDead moves v to stopped (error when it was starting) if its state and
// handle are still what the caller saw; ok is false when they changed.
func (s *Store) markDead(ctx context.Context, v VM) (c Change, ok bool, err error) {
	to, why := StateStopped, "hypervisor process exited"
	if v.State == StateStarting {
		to, why = StateError, "hypervisor process exited while starting"
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		ok = false // the transaction may be retried
		cur, err := scanVM(tx.QueryRowContext(ctx, `SELECT `+vmColumns+` FROM vms WHERE id = ?`, v.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if cur.State != v.State || cur.Handle != v.Handle {
			return nil
		}
		if err := checkTransition(v.State, to); err != nil {
			return err
		}
		ok = true
		return execOne(ctx, tx, `UPDATE vms SET state = ?, last_error = ?, updated_at = ? WHERE id = ?`,
			to, why, s.now().UnixNano(), v.ID)
	})
	if err != nil {
		return Change{}, false, fmt.Errorf("vm %s: %w", v.ID, err)
	}
	return Change{ID: v.ID, From: v.State, To: to, Ephemeral: v.Ephemeral, Dir: v.Dir}, ok, nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// VM is one recorded VM.
type VM struct {
	ID      string
	State   State
	Backend string // "qemu" or "firecracker"
	// Config is the facade's configuration as JSON. The caller guarantees it
	// holds no env values (keys at most): the database is not a secret store.
	Config json.RawMessage
	// Handle reaches the hypervisor process; zero (PID 0) until SetHandle.
	Handle hypervisor.Handle
	Dir    string // per-VM directory
	// Ephemeral marks a one-shot VM (`smolvm run`): nobody attaches to it,
	// and Reconcile reports it for deletion once its process is gone.
	Ephemeral bool
	CreatedAt time.Time
	UpdatedAt time.Time
	LastError string // why the last start or stop failed; "" when none
}

const vmColumns = `id, state, backend, config, handle, dir, ephemeral, created_at, updated_at, last_error`

// Create records a new VM in state created, with no handle. v.State must be
// empty or StateCreated; v.CreatedAt and v.UpdatedAt are set by the store.
// An empty v.Config is stored as {}. A duplicate id fails with
// ErrAlreadyExists, and exactly one of several concurrent Creates of the
// same id (from any process) succeeds.
func (s *Store) Create(ctx context.Context, v VM) error {
	if v.ID == "" {
		return errors.New("create vm: empty id")
	}
	if v.State != "" && v.State != StateCreated {
		return fmt.Errorf("create vm %s: state %s: %w", v.ID, v.State, ErrInvalidState)
	}
	cfg := []byte(v.Config)
	if len(cfg) == 0 {
		cfg = []byte("{}")
	}
	if !json.Valid(cfg) {
		return fmt.Errorf("create vm %s: config is not valid JSON", v.ID)
	}
	now := s.now().UnixNano()
	var res sql.Result
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, `INSERT INTO vms (`+vmColumns+`)
			VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, '') ON CONFLICT (id) DO NOTHING`,
			v.ID, StateCreated, v.Backend, string(cfg), v.Dir, v.Ephemeral, now, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("create vm %s: %w", v.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create vm %s: %w", v.ID, err)
	} else if n == 0 {
		return fmt.Errorf("create vm %s: %w", v.ID, ErrAlreadyExists)
	}
	return nil
}

// Get returns the VM with that id, or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (VM, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+vmColumns+` FROM vms WHERE id = ?`, id)
	v, err := scanVM(row)
	if errors.Is(err, sql.ErrNoRows) {
		return VM{}, fmt.Errorf("get vm %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return VM{}, fmt.Errorf("get vm %s: %w", id, err)
	}
	return v, nil
}

// List returns every VM, ordered by id.
func (s *Store) List(ctx context.Context) ([]VM, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+vmColumns+` FROM vms ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list vms: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []VM
	for rows.Next() {
		v, err := scanVM(rows)
		if err != nil {
			return nil, fmt.Errorf("list vms: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list vms: %w", err)
	}
	return out, nil
}

// SetHandle records the VM's hypervisor handle, in any state.
func (s *Store) SetHandle(ctx context.Context, id string, h hypervisor.Handle) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("set handle of vm %s: %w", id, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE vms SET handle = ?, updated_at = ? WHERE id = ?`,
			string(b), s.now().UnixNano(), id)
	})
	if err != nil {
		return fmt.Errorf("set handle of vm %s: %w", id, err)
	}
	return nil
}

// SetState moves the VM to state to and sets its LastError to lastErr (""
// clears it); moving to starting also clears the handle. The current state is read and checked against the transition
// table inside the same transaction, so of two processes racing to make the
// same move exactly one succeeds; an illegal move fails with an error
// wrapping ErrInvalidState that names both states.
func (s *Store) SetState(ctx context.Context, id string, to State, lastErr string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var from State
		err := tx.QueryRowContext(ctx, `SELECT state FROM vms WHERE id = ?`, id).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := checkTransition(from, to); err != nil {
			return err
		}
		if to == StateStarting {
			// A start begins without a process: the previous boot's handle
			// must not let Reconcile judge the new start dead.
			return execOne(ctx, tx, `UPDATE vms SET state = ?, last_error = ?, updated_at = ?, handle = NULL WHERE id = ?`,
				to, lastErr, s.now().UnixNano(), id)
		}
		return execOne(ctx, tx, `UPDATE vms SET state = ?, last_error = ?, updated_at = ? WHERE id = ?`,
			to, lastErr, s.now().UnixNano(), id)
	})
	if err != nil {
		return fmt.Errorf("set state of vm %s: %w", id, err)
	}
	return nil
}

// Delete removes the VM and, with it, all its port and address leases. It
// does not look at the state: stopping the VM first is the caller's job.
func (s *Store) Delete(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM vms WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete vm %s: %w", id, err)
	}
	return nil
}

// execOne runs a statement that must change a VM's row; no change means the
// VM does not exist (ErrNotFound).
func execOne(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanVM(r scanner) (VM, error) {
	var (
		v                VM
		cfg              string
		handle           sql.NullString
		created, updated int64
	)
	if err := r.Scan(&v.ID, &v.State, &v.Backend, &cfg, &handle, &v.Dir, &v.Ephemeral,
		&created, &updated, &v.LastError); err != nil {
		return VM{}, err
	}
	v.Config = json.RawMessage(cfg)
	if handle.Valid {
		if err := json.Unmarshal([]byte(handle.String), &v.Handle); err != nil {
			return VM{}, fmt.Errorf("vm %s: handle: %w", v.ID, err)
		}
	}
	v.CreatedAt = time.Unix(0, created).UTC()
	v.UpdatedAt = time.Unix(0, updated).UTC()
	return v, nil
}

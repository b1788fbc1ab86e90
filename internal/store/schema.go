package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each once, recorded in schema_migrations
// by its 1-based index. Append only: never edit a released migration.
var migrations = []string{
	// 1: VMs, port leases, address leases.
	`CREATE TABLE vms (
		id         TEXT PRIMARY KEY,
		state      TEXT NOT NULL CHECK (state IN ('created','starting','running','stopping','stopped','error')),
		backend    TEXT NOT NULL,
		config     TEXT NOT NULL CHECK (json_valid(config)),
		handle     TEXT CHECK (handle IS NULL OR json_valid(handle)),
		dir        TEXT NOT NULL,
		ephemeral  INTEGER NOT NULL DEFAULT 0 CHECK (ephemeral IN (0, 1)),
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		last_error TEXT NOT NULL DEFAULT ''
	) STRICT;
	CREATE TABLE port_leases (
		port      INTEGER PRIMARY KEY CHECK (port BETWEEN 1 AND 65535),
		vm_id     TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
		leased_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX port_leases_vm ON port_leases(vm_id);
	CREATE TABLE ip_leases (
		vm_id     TEXT PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,
		slot      INTEGER NOT NULL UNIQUE CHECK (slot >= 0),
		leased_at INTEGER NOT NULL
	) STRICT;`,
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies the missing migrations in one immediate transaction, so
// processes opening a new database at once apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var have int
		if err := tx.QueryRowContext(ctx,
			`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this smolvm knows (%d)", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				v, s.now().UnixNano()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

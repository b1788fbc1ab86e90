// Package store is smolvm's state: one SQLite database (modernc.org/sqlite,
// pure Go) under the data dir holding every VM, its hypervisor handle and its
// port and address leases.
//
// Many smolvm processes may use the same database at once. The database runs
// in WAL mode with a busy timeout; every read-modify-write happens inside one
// BEGIN IMMEDIATE transaction (the write lock is taken up front, so two
// writers never both read a stale row and then collide), and SQLite's file
// locks die with their process, so a process killed mid-transaction leaves
// the database usable and its write undone.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// BusyTimeout is how long one statement waits for another process's lock
// before failing with SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// busyRetries is how many times a whole write transaction is retried when it
// still fails with SQLITE_BUSY after BusyTimeout.
const busyRetries = 3

// StaleAfter is how long Reconcile leaves a VM alone that another process
// may still be setting up: one in starting with no handle yet, or an
// ephemeral one already stopped (its owner deletes it right after).
const StaleAfter = 2 * time.Minute

// Store is an open state database. It is safe for concurrent use by many
// goroutines, and by many processes each with its own Store.
type Store struct {
	db   *sql.DB
	path string
	// now and freePort are replaced by tests only.
	now      func() time.Time
	freePort func(context.Context) (int, error)
}

// Open opens the database at path, creating it (mode 0600) and its
// directory (mode 0700) when missing, and brings the schema up to date. It
// also keeps a lock file, path+".lock", next to the database. Any number of
// processes and goroutines may Open the same path at once.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil { // #nosec G703 -- the caller's own data dir
		return nil, fmt.Errorf("open store: %w", err)
	}
	// Creating the file and switching a fresh database to WAL race badly
	// between processes (SQLite reports I/O errors), so Open holds an
	// exclusive lock on a side file while it sets the database up.
	unlock, err := lockFile(ctx, abs+".lock")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	defer unlock()
	_, statErr := os.Stat(abs) // #nosec G703 -- the caller's own data dir
	fresh := errors.Is(statErr, fs.ErrNotExist)
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	s := &Store{db: db, path: abs, now: time.Now, freePort: freePort}
	if err := s.init(ctx, fresh); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	return s, nil
}

// dsn builds the connection string. Every connection of the pool gets the
// busy timeout, foreign keys and BEGIN IMMEDIATE for read-write transactions.
func dsn(abs string) string {
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL")
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
}

// init creates the file when fresh, switches the database to WAL (a
// persistent setting) and migrates.
func (s *Store) init(ctx context.Context, fresh bool) error {
	if fresh {
		// Connecting creates the file with the umask's mode. Chmod it by name
		// before WAL mode creates the -wal and -shm files, which copy its
		// mode. (Never open and close the database file ourselves: closing
		// any descriptor of it drops this process's SQLite locks on it.)
		if err := s.db.PingContext(ctx); err != nil {
			return err
		}
		if err := os.Chmod(s.path, 0o600); err != nil {
			return err
		}
	}
	err := retryBusy(ctx, func() error {
		var mode string
		if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
			return err
		}
		if mode != "wal" {
			return fmt.Errorf("journal mode is %q, want wal", mode)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enable WAL: %w", err)
	}
	return s.migrate(ctx)
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database. Using the Store afterwards fails.
func (s *Store) Close() error {
	return s.db.Close()
}

// write runs fn in one BEGIN IMMEDIATE transaction and commits it; fn's
// error (or a failed commit) rolls it back. The whole transaction is retried
// a few times if the database stays locked past BusyTimeout, so fn must only
// touch the database through tx.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return retryBusy(ctx, func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

func retryBusy(ctx context.Context, fn func() error) error {
	var err error
	for range busyRetries {
		if err = fn(); !isBusy(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// isBusy reports whether err is SQLite's "database is locked" (BUSY or
// LOCKED, any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

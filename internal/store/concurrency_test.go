package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const (
	goroutines = 20
	processes  = 4
)

// TestConcurrentOpenFreshDB opens a database that does not exist yet from
// 4 child processes and 8 goroutines at once: every Open succeeds, and the
// schema is migrated exactly once.
func TestConcurrentOpenFreshDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "smolvm.db")
	var kids []*child
	for i := range processes {
		kids = append(kids, startChild(t, "open", path, "child"+strconv.Itoa(i)))
	}
	for _, k := range kids {
		k.signalGo(t)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			defer func() { _ = s.Close() }()
			if err := s.Create(t.Context(), VM{ID: "g" + strconv.Itoa(i)}); err != nil {
				t.Errorf("Create: %v", err)
			}
		})
	}
	for i, k := range kids {
		if lines := k.finish(t); len(lines) != 1 || lines[0] != "ok" {
			t.Errorf("child %d: %v", i, lines)
		}
	}
	wg.Wait()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var n int
	if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion() {
		t.Fatalf("%d migration rows, want %d", n, SchemaVersion())
	}
	list, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 8+processes {
		t.Fatalf("VMs %v, want %d", ids(list), 8+processes)
	}
}

// TestConcurrentLeasePort leases ports from 20 goroutines of this process
// and from 4 child processes (5 goroutines each) at once: every lease must be
// distinct and recorded against the VM that asked for it.
func TestConcurrentLeasePort(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	const perGoroutine = 5
	for i := range goroutines {
		mustCreate(t, s, fmt.Sprintf("g%02d", i))
	}
	var kids []*child
	for i := range processes {
		id := fmt.Sprintf("p%d", i)
		mustCreate(t, s, id)
		kids = append(kids, startChild(t, "lease", s.Path(), id))
	}

	leased := map[int]string{} // port -> vm id, as told by the leasers
	var mu sync.Mutex
	record := func(id string, p int) {
		mu.Lock()
		defer mu.Unlock()
		if prev, dup := leased[p]; dup {
			t.Errorf("port %d leased to both %s and %s", p, prev, id)
		}
		leased[p] = id
	}
	for _, k := range kids {
		k.signalGo(t)
	}
	var wg sync.WaitGroup
	for i := range goroutines {
		id := fmt.Sprintf("g%02d", i)
		wg.Go(func() {
			for range perGoroutine {
				p, err := s.LeasePort(ctx, id)
				if err != nil {
					t.Errorf("LeasePort(%s): %v", id, err)
					return
				}
				record(id, p)
			}
		})
	}
	for i, k := range kids {
		lines := k.finish(t)
		if len(lines) != 25 {
			t.Errorf("child %d leased %d ports, want 25: %v", i, len(lines), lines)
		}
		for _, l := range lines {
			p, err := strconv.Atoi(l)
			if err != nil {
				t.Fatalf("child %d: %q", i, l)
			}
			record(fmt.Sprintf("p%d", i), p)
		}
	}
	wg.Wait()

	want := goroutines*perGoroutine + processes*25
	if len(leased) != want {
		t.Fatalf("%d distinct ports leased, want %d", len(leased), want)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT port, vm_id FROM port_leases`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var p int
		var id string
		if err := rows.Scan(&p, &id); err != nil {
			t.Fatal(err)
		}
		n++
		if leased[p] != id {
			t.Errorf("port %d recorded for %s, leased to %q", p, id, leased[p])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%d leases recorded, want %d", n, want)
	}
}

// TestConcurrentCreateSameID races Creates of one id from 20 goroutines and
// 4 child processes: exactly one wins, every other gets ErrAlreadyExists.
func TestConcurrentCreateSameID(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	for round := range 3 {
		id := "contested-" + strconv.Itoa(round)
		var kids []*child
		for range processes {
			kids = append(kids, startChild(t, "create", s.Path(), id))
		}
		for _, k := range kids {
			k.signalGo(t)
		}
		var (
			mu          sync.Mutex
			wins, exist int
			wg          sync.WaitGroup
		)
		for i := range goroutines {
			wg.Go(func() {
				err := s.Create(ctx, VM{ID: id, Backend: "qemu", Dir: "/parent/" + strconv.Itoa(i)})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, ErrAlreadyExists):
					exist++
				default:
					t.Errorf("Create: %v", err)
				}
			})
		}
		for _, k := range kids {
			for _, l := range k.finish(t) {
				mu.Lock()
				switch l {
				case "ok":
					wins++
				case "exists":
					exist++
				default:
					t.Errorf("child said %q", l)
				}
				mu.Unlock()
			}
		}
		wg.Wait()
		if wins != 1 || exist != goroutines+processes-1 {
			t.Fatalf("round %d: %d wins, %d already-exists; want 1 and %d", round, wins, exist, goroutines+processes-1)
		}
		if _, err := s.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKilledWriterLeavesDatabaseUsable SIGKILLs a child process that holds
// the write lock in the middle of a transaction: its write must vanish and
// the database must take writes again at once.
func TestKilledWriterLeavesDatabaseUsable(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	mustCreate(t, s, "before")
	k := startChild(t, "hold", s.Path(), "ghost")
	k.signalGo(t)
	line, err := k.stdout.ReadString('\n')
	if line != "holding\n" {
		t.Fatalf("child: %q %v; stderr: %s", line, err, k.stderr.String())
	}

	// While the child lives, its lock really is held: a writer that does
	// not wait gets SQLITE_BUSY.
	if err := tryWrite(ctx, s.Path()); !isBusy(err) {
		t.Fatalf("write while the child holds the lock: %v, want SQLITE_BUSY", err)
	}

	if err := k.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = k.cmd.Wait()
	var ws syscall.WaitStatus
	if st := k.cmd.ProcessState; st != nil {
		ws, _ = st.Sys().(syscall.WaitStatus)
	}
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}

	if err := tryWrite(ctx, s.Path()); err != nil {
		t.Fatalf("write after the kill: %v", err)
	}
	mustCreate(t, s, "after")
	if _, err := s.Get(ctx, "ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the killed transaction's VM: %v, want ErrNotFound", err)
	}
	s2, err := Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s2.Close() }()
	list, err := s2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(list), ","); got != "after,before" {
		t.Fatalf("VMs after the kill: %s", got)
	}
}

// tryWrite opens its own connection with no busy timeout and runs one
// BEGIN IMMEDIATE transaction.
func tryWrite(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_txlock=immediate&_busy_timeout=0")
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE vms SET updated_at = updated_at`); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// TestConcurrentSetState races the same move from 20 goroutines: the check
// and the write share one transaction, so exactly one succeeds and every
// other sees the VM already moved.
func TestConcurrentSetState(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	mustCreate(t, s, "vm")
	force(t, s, "vm", StateRunning)
	var (
		mu          sync.Mutex
		ok, refused int
		wg          sync.WaitGroup
	)
	for range goroutines {
		wg.Go(func() {
			err := s.SetState(ctx, "vm", StateStopping, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrInvalidState) && strings.Contains(err.Error(), "stopping -> stopping"):
				refused++
			default:
				t.Errorf("SetState: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || refused != goroutines-1 {
		t.Fatalf("%d moves succeeded, %d refused; want 1 and %d", ok, refused, goroutines-1)
	}
}

package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Child processes: the test binary re-executes itself with these variables
// set, and TestMain runs the named child mode instead of the tests.
const (
	envChild = "SMOLVM_STORE_TEST_CHILD" // mode: open, lease, create, hold
	envDB    = "SMOLVM_STORE_TEST_DB"
	envArg   = "SMOLVM_STORE_TEST_ARG"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		if err := runChild(mode, os.Getenv(envDB), os.Getenv(envArg)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild waits for "go" on stdin (so all children start together), opens
// the store, does its part and prints one result line per item on stdout.
func runChild(mode, db, arg string) error {
	ctx := context.Background()
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadString('\n')
	if err != nil {
		return fmt.Errorf("no go signal: %w", err)
	}
	if line != "go\n" {
		return fmt.Errorf("no go signal: %q", line)
	}
	s, err := Open(ctx, db)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	switch mode {
	case "lease": // arg: vm id; 5 goroutines lease 5 ports each
		ports, err := leaseMany(ctx, s, arg, 5, 5)
		for _, p := range ports {
			fmt.Println(p)
		}
		return err
	case "open": // the Open above raced the others; record that it worked
		if err := s.Create(ctx, VM{ID: arg}); err != nil {
			return err
		}
		fmt.Println("ok")
		return nil
	case "create": // arg: vm id
		err := s.Create(ctx, VM{ID: arg, Backend: "qemu", Dir: "/child/" + strconv.Itoa(os.Getpid())})
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.Is(err, ErrAlreadyExists):
			fmt.Println("exists")
		default:
			return err
		}
		return nil
	case "hold": // take the write lock, write a VM, never commit
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vms (`+vmColumns+`)
			VALUES (?, 'created', 'qemu', '{}', NULL, '', 0, 0, 0, '')`, arg); err != nil {
			return err
		}
		fmt.Println("holding")
		_, _ = io.Copy(io.Discard, in) // until killed
		return errors.New("not killed")
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// leaseMany leases per ports for vmID from each of n goroutines at once.
func leaseMany(ctx context.Context, s *Store, vmID string, n, per int) ([]int, error) {
	var (
		mu    sync.Mutex
		ports []int
		errs  []error
		wg    sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			for range per {
				p, err := s.LeasePort(ctx, vmID)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ports = append(ports, p)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ports, errors.Join(errs...)
}

// child is a running child process of the test binary.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr strings.Builder
}

func startChild(t *testing.T, mode, db, arg string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(exe, "-test.run=^$")} // #nosec G204 -- the test binary itself
	c.cmd.Env = append(os.Environ(), envChild+"="+mode, envDB+"="+db, envArg+"="+arg)
	c.cmd.Stderr = &c.stderr
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdout = bufio.NewReader(out)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	})
	return c
}

func (c *child) signalGo(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
}

// finish closes stdin, reads every output line and waits for a clean exit.
func (c *child) finish(t *testing.T) []string {
	t.Helper()
	_ = c.stdin.Close()
	var lines []string
	for {
		line, err := c.stdout.ReadString('\n')
		if line != "" {
			lines = append(lines, strings.TrimSuffix(line, "\n"))
		}
		if err != nil {
			break
		}
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child pid %d: %v; stderr: %s", c.cmd.Process.Pid, err, c.stderr.String())
	}
	return lines
}

// openTemp opens a fresh store in a temp dir.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "state", "smolvm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// mustCreate records a VM with default fields.
func mustCreate(t *testing.T, s *Store, id string) {
	t.Helper()
	if err := s.Create(t.Context(), VM{ID: id, Backend: "qemu", Dir: "/vms/" + id}); err != nil {
		t.Fatal(err)
	}
}

// force sets a VM's state directly, bypassing the transition table.
func force(t *testing.T, s *Store, id string, st State) {
	t.Helper()
	if _, err := s.db.ExecContext(t.Context(), `UPDATE vms SET state = ? WHERE id = ?`, st, id); err != nil {
		t.Fatal(err)
	}
}

// fixedClock makes the store's clock return *now.
func fixedClock(s *Store, now *time.Time) { s.now = func() time.Time { return *now } }

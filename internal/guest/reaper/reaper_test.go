package reaper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// starter is what both implementations offer.
type starter interface {
	Start(*exec.Cmd) (Process, error)
}

const helperEnv = "SMOLVM_REAPER_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		if err := subreaperScenario(); err != nil {
			fmt.Println("FAIL:", err)
			os.Exit(1)
		}
		fmt.Println("OK")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestReaperAsSubreaper runs the Reaper in a child process that is a child
// subreaper, so it reaps re-parented orphans exactly as PID 1 does,
// without stealing this test process's own children.
func TestReaperAsSubreaper(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

func TestDirect(t *testing.T) {
	checkStatuses(t, Direct{})
	checkGroupKill(t, Direct{})
}

func checkStatuses(t *testing.T, s starter) {
	t.Helper()
	if err := statuses(s); err != nil {
		t.Fatal(err)
	}
}

func checkGroupKill(t *testing.T, s starter) {
	t.Helper()
	if err := groupKill(s); err != nil {
		t.Fatal(err)
	}
}

// statuses starts 40 children at once; each must get its own exit code.
func statuses(s starter) error {
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.Start(exec.Command("/bin/sh", "-c", fmt.Sprintf("exit %d", i)))
			if err != nil {
				errs <- err
				return
			}
			ws, err := p.Wait()
			if err != nil || !ws.Exited() || ws.ExitStatus() != i {
				errs <- fmt.Errorf("child %d: status %v err %v", i, ws, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// groupKill kills a session leader's group: the background grandchild dies
// too, and signalling after the reap reports ErrFinished.
func groupKill(s starter) error {
	cmd := exec.Command("/bin/sh", "-c", "sleep 1000 & echo $!; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout = w
	p, err := s.Start(cmd)
	_ = w.Close()
	if err != nil {
		return err
	}
	var gc int
	if _, err := fmt.Fscan(r, &gc); err != nil {
		return fmt.Errorf("read grandchild pid: %w", err)
	}
	if err := p.SignalGroup(syscall.SIGKILL); err != nil {
		return err
	}
	ws, err := p.Wait()
	if err != nil || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("status %v err %v, want SIGKILL", ws, err)
	}
	if err := p.SignalGroup(syscall.SIGTERM); !errors.Is(err, ErrFinished) {
		return fmt.Errorf("SignalGroup after reap = %v, want ErrFinished", err)
	}
	_, _ = io.Copy(io.Discard, r)
	for i := 0; ; i++ {
		// The killed grandchild is gone, or a zombie waiting for whoever
		// reaps it (init on the host, the reaper in the helper).
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", gc))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return nil
		}
		if i > 500 {
			return fmt.Errorf("grandchild %d still running: %s", gc, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func subreaperScenario() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return err
	}
	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	if err := statuses(r); err != nil {
		return err
	}
	if err := groupKill(r); err != nil {
		return err
	}
	// An orphan: the shell exits 7 at once, its background child is
	// re-parented to us and must be reaped by the loop.
	p, err := r.Start(exec.Command("/bin/sh", "-c", "(sleep 0.2; exit 3) & exit 7"))
	if err != nil {
		return err
	}
	if ws, err := p.Wait(); err != nil || ws.ExitStatus() != 7 {
		return fmt.Errorf("orphan parent: %v %v", ws, err)
	}
	if _, err := r.Start(exec.Command("/bin/true")); err != nil {
		return err
	}
	cmd := exec.Command("/bin/true")
	cmd.Stdout = io.Discard
	if _, err := r.Start(cmd); !errors.Is(err, ErrStdio) {
		return fmt.Errorf("non-file stdout: %v, want ErrStdio", err)
	}
	for i := 0; HasChildren(); i++ {
		if i > 1000 {
			return errors.New("children left unreaped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

package envsync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lockSandboxes adds a busybox chroot without /proc, where the link lock
// can only tell a live owner with kill -0.
func lockSandboxes(t *testing.T) []*sandbox {
	t.Helper()
	s := busyboxChroot(t, false)
	s.name = "busybox-chroot-noproc"
	return append(sandboxes(t), s)
}

// lockModes are the lock kinds worth running on s.
func lockModes(s *sandbox) []LockMode {
	if s.root != "" {
		return []LockMode{LockAuto} // no flock in the chroot: auto is link
	}
	return []LockMode{LockAuto, LockLink}
}

// startHeld starts an update session on s and reads the frame, so the
// guest holds the lock; it returns the shell process and the session.
func startHeld(t *testing.T, s *sandbox, lock LockMode) (*exec.Cmd, *Process, *bufio.Reader) {
	t.Helper()
	cmd, err := command(modeUpdate, lock, s.file)
	if err != nil {
		t.Fatal(err)
	}
	var shell *exec.Cmd
	c := s.clone()
	c.onProc = func(x *exec.Cmd) { shell = x }
	p, err := c.Start(context.Background(), cmd, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(p.Stdout)
	if _, _, _, err := readFrame(br, maxFrame); err != nil {
		t.Fatalf("frame: %v", err)
	}
	return shell, p, br
}

// kill SIGKILLs the guest shell and reaps it.
func kill(t *testing.T, shell *exec.Cmd, p *Process, br *bufio.Reader) {
	t.Helper()
	if err := shell.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.Stdin.Close()
	_, _ = io.Copy(io.Discard, br)
	_ = p.Wait()
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	// A hang guard, not a speed check: a broken lock would block for ever.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestStaleLockAfterKill SIGKILLs a guest while it holds the lock; the
// next update must get the lock.
func TestStaleLockAfterKill(t *testing.T) {
	for _, s := range lockSandboxes(t) {
		for _, lock := range lockModes(s) {
			t.Run(s.name+"/"+lock.String(), func(t *testing.T) {
				ctx := testCtx(t)
				sy := s.syncer(lock)
				if _, err := sy.Set(ctx, s, oldVars, true); err != nil {
					t.Fatal(err)
				}
				shell, p, br := startHeld(t, s, lock)
				kill(t, shell, p, br)
				link := filepath.Join(s.hostDir(), ".smolvm_env.sh.lock")
				if target, err := os.Readlink(link); err == nil {
					t.Logf("stale link lock left by pid %d: %s", shell.Process.Pid, target)
				} else if lock == LockLink || s.root != "" {
					t.Fatalf("no stale link lock after SIGKILL: %v", err)
				}
				if _, err := sy.Set(ctx, s, map[string]string{"AFTER": "kill"}, false); err != nil {
					t.Fatalf("Set after a killed writer: %v", err)
				}
				if _, err := os.Lstat(link); err == nil {
					t.Errorf("link lock still there after Set")
				}
				want := map[string]string{"AFTER": "kill"}
				for k, v := range oldVars {
					want[k] = v
				}
				got, err := sy.List(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				assertSameVars(t, "after recovery", got, want)
			})
		}
	}
}

// TestStaleTempFileRemoved kills a guest mid-write, which leaves its temp
// file behind; the next writer removes it.
func TestStaleTempFileRemoved(t *testing.T) {
	for _, s := range lockSandboxes(t) {
		t.Run(s.name, func(t *testing.T) {
			ctx := testCtx(t)
			sy := s.syncer(LockAuto)
			if _, err := sy.Set(ctx, s, oldVars, true); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, s)
			shell, p, br := startHeld(t, s, LockAuto)
			if _, err := io.WriteString(p.Stdin, "100\n0123456789"); err != nil {
				t.Fatal(err)
			}
			tmp := filepath.Join(s.hostDir(), fmt.Sprintf(".smolvm_env.sh.tmp.%d", shell.Process.Pid))
			for i := 0; ; i++ {
				if _, err := os.Stat(tmp); err == nil {
					break
				}
				if i == 1000 {
					t.Fatalf("temp file %s never appeared", tmp)
				}
				time.Sleep(10 * time.Millisecond)
			}
			kill(t, shell, p, br)
			if _, err := os.Stat(tmp); err != nil {
				t.Fatalf("the killed writer left no temp file: %v", err)
			}
			if string(readFile(t, s)) != string(before) {
				t.Fatalf("a killed writer changed the file")
			}
			if _, err := sy.Set(ctx, s, map[string]string{"NEXT": "1"}, false); err != nil {
				t.Fatal(err)
			}
			if l := leftovers(t, s); len(l) != 0 {
				t.Errorf("leftover files after the next Set: %v", l)
			}
		})
	}
}

// selfToken returns the link-lock token of the test process, or "" parts
// when /proc does not say.
func selfToken(t *testing.T) (pid int, start, boot string) {
	t.Helper()
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc here")
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Skip("no boot_id here")
	}
	return os.Getpid(), f[19], strings.TrimSpace(string(b))
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

// TestLinkLockOwners pre-creates link locks with owners in every state and
// checks which ones a writer breaks and which one it waits for.
func TestLinkLockOwners(t *testing.T) {
	pid, start, boot := selfToken(t)
	dead := deadPid(t)
	tests := []struct {
		name   string
		lock   string // the lock symlink's target
		brk    string // the break marker's target, "" for none
		live   bool   // the writer must wait (and time out)
		noproc bool   // needs /proc in the guest (without it only kill -0 tells)
	}{
		{name: "garbage token", lock: "garbage"},
		{name: "empty-ish token", lock: "::"},
		{name: "dead pid", lock: fmt.Sprintf("%d:%s:%s", dead, start, boot)},
		{name: "dead pid without proc info", lock: fmt.Sprintf("%d::", dead)},
		{name: "live pid from another boot", lock: fmt.Sprintf("%d:%s:%s", pid, start, "00000000-0000-0000-0000-000000000000"), noproc: true},
		{name: "reused pid (other start time)", lock: fmt.Sprintf("%d:%s1:%s", pid, start, boot), noproc: true},
		{name: "dead owner and dead breaker", lock: fmt.Sprintf("%d::", dead), brk: fmt.Sprintf("%d::", dead)},
		{name: "live owner", lock: fmt.Sprintf("%d:%s:%s", pid, start, boot), live: true},
		{name: "live owner without proc info", lock: fmt.Sprintf("%d::", pid), live: true},
	}
	for _, s := range lockSandboxes(t) {
		noProc := s.name == "busybox-chroot-noproc"
		for _, tc := range tests {
			if tc.noproc && noProc {
				continue
			}
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				sy := s.syncer(LockLink)
				if _, err := sy.Set(testCtx(t), s, oldVars, true); err != nil {
					t.Fatal(err)
				}
				before := readFile(t, s)
				link := filepath.Join(s.hostDir(), ".smolvm_env.sh.lock")
				if err := os.Symlink(tc.lock, link); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = os.Remove(link); _ = os.Remove(link + ".break") })
				if tc.brk != "" {
					if err := os.Symlink(tc.brk, link+".break"); err != nil {
						t.Fatal(err)
					}
				}
				if tc.live {
					ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
					defer cancel()
					_, err := sy.Set(ctx, s, map[string]string{"NEW": "1"}, false)
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("Set against a live lock: err = %v, want to wait until the deadline", err)
					}
					if got, _ := os.Readlink(link); got != tc.lock {
						t.Errorf("live lock changed to %q", got)
					}
					if string(readFile(t, s)) != string(before) {
						t.Errorf("file changed while another writer held the lock")
					}
					if err := os.Remove(link); err != nil {
						t.Fatal(err)
					}
					return
				}
				if _, err := sy.Set(testCtx(t), s, map[string]string{"NEW": "1"}, false); err != nil {
					t.Fatalf("Set over a stale lock: %v", err)
				}
				for _, p := range []string{link, link + ".break"} {
					if _, err := os.Lstat(p); err == nil {
						t.Errorf("%s left behind", filepath.Base(p))
					}
				}
			})
		}
	}
}

// TestFlockRequiredButMissing forces LockFlock on a guest without flock:
// the update fails cleanly and changes nothing.
func TestFlockRequiredButMissing(t *testing.T) {
	s := busyboxChroot(t, false)
	sy := s.syncer(LockAuto)
	if _, err := sy.Set(testCtx(t), s, oldVars, true); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, s)
	_, err := s.syncer(LockFlock).Set(testCtx(t), s, map[string]string{"NEW": "1"}, false)
	var ge *GuestError
	if !errors.As(err, &ge) || !strings.Contains(ge.Message, "flock") {
		t.Fatalf("err = %v, want a *GuestError about flock", err)
	}
	t.Logf("LockFlock without flock: %v", err)
	checkUnchanged(t, s, sy, before)
}

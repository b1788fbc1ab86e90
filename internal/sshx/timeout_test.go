package sshx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// loginUser returns a non-root user with a real login shell, or "".
// OpenSSH honours the "signal" channel request only for sessions with
// post-auth privilege separation, which it skips for root logins.
func loginUser(t *testing.T) string {
	t.Helper()
	shells, err := os.ReadFile("/etc/shells")
	if err != nil {
		return ""
	}
	valid := strings.Fields(string(shells))
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) == 7 && p[2] != "0" && slices.Contains(valid, p[6]) && !strings.HasSuffix(p[6], "nologin") {
			return p[0]
		}
	}
	return ""
}

// waitGone polls until no process carries mark, or fails after a while.
func waitGone(t *testing.T, mark string) {
	t.Helper()
	var left map[int]string
	for range 100 {
		if left = markedProcs(t, mark); len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("processes still running after the kill: %v", left)
}

// watchSleep polls for a "sleep 1000" carrying mark and sends true once
// it is seen, or false once stop is closed.
func watchSleep(t *testing.T, mark string, stop <-chan struct{}) <-chan bool {
	seen := make(chan bool, 1)
	go func() {
		for {
			for _, cmd := range markedProcs(t, mark) {
				if cmd == "sleep 1000" {
					seen <- true
					return
				}
			}
			select {
			case <-stop:
				seen <- false
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return seen
}

// TestRunTimeoutKills checks that Timeout and ctx cancellation kill the
// command, keep the partial output and return the right errors.
func TestRunTimeoutKills(t *testing.T) {
	user := loginUser(t)
	if user == "" {
		t.Skip("no non-root user with a login shell: OpenSSH ignores signal requests in root sessions")
	}
	// UsePAM: without it OpenSSH refuses accounts with a locked password.
	d := newTestSSHD(t, "UsePAM yes")
	d.start()
	c := d.newClient(func(cfg *Config) { cfg.User = user })
	// Connect first: the timeouts below bound the commands, not the login.
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	mark := fmt.Sprintf("timeout-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { killMarked(t, mark) })
	env := map[string]string{"SSHX_MARK": mark}

	for _, tc := range []struct {
		name  string
		cmd   string
		login bool
	}{
		{"raw direct child", "sleep 1000", false},
		{"login compound", "printf partial; printf e >&2; sleep 1000; echo never", true},
		{"background child", "sleep 1000 & sleep 1000; wait", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o, e bytes.Buffer
			stop := make(chan struct{})
			seen := watchSleep(t, mark, stop)
			exit, err := c.Run(context.Background(), tc.cmd, RunOptions{
				Login: tc.login, Env: env, Timeout: time.Second, Stdout: &o, Stderr: &e,
			})
			close(stop)
			if !errors.Is(err, ErrTimeout) || exit.Code != -1 {
				t.Fatalf("exit %+v err %v, want ErrTimeout", exit, err)
			}
			if !<-seen {
				t.Fatal("the sleep was never seen running before the timeout")
			}
			if strings.HasPrefix(tc.cmd, "printf partial") && (o.String() != "partial" || e.String() != "e") {
				t.Errorf("partial output %q/%q, want partial/e", o.String(), e.String())
			}
			waitGone(t, mark)
		})
	}

	t.Run("ctx cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-watchSleep(t, mark, ctx.Done())
			cancel()
		}()
		_, err := c.Run(ctx, "sleep 1000", RunOptions{Env: env})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		waitGone(t, mark)
	})

	t.Run("ctx deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		stop := make(chan struct{})
		seen := watchSleep(t, mark, stop)
		_, err := c.Run(ctx, "sleep 1000", RunOptions{Env: env, Login: true})
		close(stop)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
			t.Fatalf("err %v, want ErrTimeout and DeadlineExceeded", err)
		}
		if !<-seen {
			t.Fatal("the sleep was never seen running before the deadline")
		}
		waitGone(t, mark)
	})

	// The connection is still good for later commands.
	if exit, err := c.Run(context.Background(), "exit 7", RunOptions{}); err != nil || exit.Code != 7 {
		t.Errorf("after timeouts: exit %+v err %v", exit, err)
	}
}

// TestRunTimeoutRootOpenSSH records what OpenSSH does with a root
// session on timeout: it refuses the signal request ("session signalling
// requires privilege separation") and closing the channel does not
// signal a command without a PTY, so the command keeps running. Run
// still returns ErrTimeout promptly; smolvm's own guest agent kills the
// process group instead (docs/guest.md).
func TestRunTimeoutRootOpenSSH(t *testing.T) {
	d := newTestSSHD(t)
	d.start()
	c := d.newClient(nil)
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	mark := fmt.Sprintf("rootkill-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { killMarked(t, mark) })
	_, err := c.Run(context.Background(), "sleep 1000", RunOptions{Env: map[string]string{"SSHX_MARK": mark}, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	t.Logf("processes left by OpenSSH after KILL + close of a root session: %v", markedProcs(t, mark))
	if !strings.Contains(d.log.String(), "requires privilege separation") {
		t.Logf("this sshd handled the signal request differently; log:\n%s", d.log)
	}
}

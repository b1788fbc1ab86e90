package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/guest/sshd"
	"golang.org/x/crypto/ssh"
)

// TestGuestSSHD runs the client against smolvm's own guest SSH server
// (internal/guest/sshd), served in this process with a temp passwd file
// whose root HOME holds a .profile: the same client behaviour as against
// OpenSSH, plus the process-group kill that OpenSSH does not do for root.
func TestGuestSSHD(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the guest server starts commands as the passwd user: needs root")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "root")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(home, ".profile"), "export SSHX_PROFILE=from-profile\nexport SSHX_WIN=from-profile\n")
	mustWrite(t, filepath.Join(dir, "passwd"), "root:x:0:0:root:"+home+":/bin/sh\n")
	mustWrite(t, filepath.Join(dir, "group"), "root:x:0:\n")
	hostKey, clientKey := testSigner(t), testSigner(t)
	var logs syncBuffer
	srv, err := sshd.New(sshd.Config{
		HostKey:        hostKey,
		AuthorizedKeys: []ssh.PublicKey{clientKey.PublicKey()},
		PasswdPath:     filepath.Join(dir, "passwd"),
		GroupPath:      filepath.Join(dir, "group"),
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-served
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	c, err := New(Config{
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", ln.Addr().String())
		},
		Signer:  clientKey,
		HostKey: func() (string, error) { return srv.HostKeyLine(), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, cmd string, opts RunOptions) (Exit, string, string, error) {
		t.Helper()
		var o, e bytes.Buffer
		opts.Stdout, opts.Stderr = &o, &e
		exit, err := c.Run(ctx, cmd, opts)
		return exit, o.String(), e.String(), err
	}

	t.Run("exit codes and streams", func(t *testing.T) {
		for cmd, want := range map[string]int{"true": 0, "false": 1, "exit 42": 42, "no-such-command-sshx": 127} {
			if exit, _, _, err := run(t, cmd, RunOptions{Login: true}); err != nil || exit.Code != want {
				t.Errorf("%q: %+v %v, want %d", cmd, exit, err, want)
			}
		}
		_, out, errOut, err := run(t, `printf 'a\0\377\n\n'; printf 'e\n\n' >&2`, RunOptions{})
		if err != nil || out != "a\x00\xff\n\n" || errOut != "e\n\n" {
			t.Errorf("streams %q %q %v", out, errOut, err)
		}
		_, out, _, err = run(t, "cat", RunOptions{Stdin: strings.NewReader("in\x00put\n")})
		if err != nil || out != "in\x00put\n" {
			t.Errorf("stdin round trip %q %v", out, err)
		}
	})

	t.Run("login env wins over profile", func(t *testing.T) {
		v := "it's \"run\"\n$HOME"
		_, out, _, err := run(t, `printf '%s|%s|%s' "$SSHX_WIN" "$SSHX_PROFILE" "${SMOLVM_RUNENV_SSHX_WIN-gone}"`,
			RunOptions{Login: true, Env: map[string]string{"SSHX_WIN": v}})
		if want := v + "|from-profile|gone"; err != nil || out != want {
			t.Errorf("got %q %v, want %q", out, err, want)
		}
		_, out, _, _ = run(t, `printf %s "${SSHX_PROFILE-}"`, RunOptions{})
		if out != "" {
			t.Errorf("raw run sourced the profile: %q", out)
		}
	})

	t.Run("timeout kills the process group", func(t *testing.T) {
		mark := fmt.Sprintf("guestkill-%d", time.Now().UnixNano())
		t.Cleanup(func() { killMarked(t, mark) })
		stop := make(chan struct{})
		seen := watchSleep(t, mark, stop)
		exit, out, _, err := run(t, "printf partial; sleep 1000 & sleep 1000; wait",
			RunOptions{Login: true, Env: map[string]string{"SSHX_MARK": mark}, Timeout: time.Second})
		close(stop)
		if !errors.Is(err, ErrTimeout) || exit.Code != -1 || out != "partial" {
			t.Fatalf("%+v %q %v, want ErrTimeout with partial output", exit, out, err)
		}
		if !<-seen {
			t.Fatal("the sleep was never seen running")
		}
		waitGone(t, mark)
	})

	t.Run("20 concurrent runs", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				exit, out, _, err := run(t, fmt.Sprintf("sleep 0.2; printf %d; exit %d", i, i), RunOptions{})
				if err == nil && (exit.Code != i || out != fmt.Sprint(i)) {
					err = fmt.Errorf("run %d: %+v %q", i, exit, out)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	})
}

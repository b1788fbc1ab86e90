package sshd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/guest/reaper"
)

// helperEnv names the directory the subreaper helper reads its keys and
// passwd file from.
const helperEnv = "SMOLVM_SSHD_REAPER_HELPER_DIR"

// subreaperHelper serves SSH the way PID 1 does: a child subreaper whose
// Reaper reaps every child and re-parented orphan, with the server's
// commands started through that Reaper. It prints the address, then
// serves until stdin closes.
func subreaperHelper() int {
	dir := os.Getenv(helperEnv)
	fail := func(err error) int { fmt.Println("FAIL", err); return 1 }
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail(err)
	}
	hk, _, err := LoadOrCreateHostKey(filepath.Join(dir, "hostkey"))
	if err != nil {
		return fail(err)
	}
	ak, err := os.ReadFile(filepath.Join(dir, "authorized_keys"))
	if err != nil {
		return fail(err)
	}
	keys, err := ParseAuthorizedKeys(ak)
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	r := reaper.New(log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	srv, err := New(Config{HostKey: hk, AuthorizedKeys: keys, PasswdPath: filepath.Join(dir, "passwd"),
		GroupPath: filepath.Join(dir, "group"), Starter: r, Logger: log})
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	fmt.Println("ADDR", ln.Addr().String(), srv.HostKeyLine())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	if err := srv.Serve(ctx, ln); err != nil {
		return fail(err)
	}
	return 0
}

// TestServerUnderReaper runs commands through the PID 1 code path: exit
// codes still arrive intact while the reaper reaps everything, orphans
// are reaped, and group signals work.
func TestServerUnderReaper(t *testing.T) {
	dir := t.TempDir()
	client, _ := newSigner(t)
	must(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client.PublicKey()), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "passwd"), []byte("root:x:0:0::"+dir+":/bin/sh\n"), 0o644))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	defer func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	must(t, err)
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "ADDR" {
		t.Fatalf("helper said %q", line)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.Join(f[2:], " ")))
	must(t, err)
	c, err := ssh.Dial("tcp", f[1], &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(client)},
		HostKeyCallback: ssh.FixedHostKey(hostKey)})
	must(t, err)
	defer c.Close()

	for _, code := range []int{0, 1, 42, 127} {
		cmdline := fmt.Sprintf("exit %d", code)
		if code == 127 {
			cmdline = "smolvm-no-such-command-xyz 2>/dev/null"
		}
		if r := run(t, c, cmdline, nil, nil); r.code != code {
			t.Fatalf("%q: exit %d, want %d", cmdline, r.code, code)
		}
	}
	// The orphan: the shell exits, its background child is re-parented to
	// the helper and must be reaped (no zombie left behind).
	r := run(t, c, "sleep 0.3 & echo $!", nil, nil)
	pid, err := strconv.Atoi(strings.TrimSpace(string(r.stdout)))
	must(t, err)
	waitReaped(t, pid)
	s, gc, done := startGrandchild(t, c)
	defer s.Close()
	must(t, s.Signal(ssh.SIGKILL))
	if err := <-done; err == nil {
		t.Fatal("killed command reported success")
	}
	waitReaped(t, gc)
}

// waitReaped waits until pid has no /proc entry at all: not even a zombie.
func waitReaped(t *testing.T, pid int) {
	t.Helper()
	waitGone(t, pid)
	for i := 0; ; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return
		}
		if i > 1000 {
			t.Fatalf("pid %d left as a zombie", pid)
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 20e6}, nil)
	}
}

package sshd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

func TestExecExitCodes(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	tests := []struct {
		name string
		cmd  string
		code int
	}{
		{"success", "true", 0},
		{"failure", "false", 1},
		{"explicit code", "exit 42", 42},
		{"command not found", "smolvm-no-such-command-xyz", 127},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := run(t, c, tc.cmd, nil, nil); r.code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
		})
	}
}

func TestExecOutputByteExact(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	r := run(t, c, `printf '\000\001\377bin\n\n'; printf 'err\r\n\n' >&2; printf 'tail'`, nil, nil)
	if want := []byte("\x00\x01\xffbin\n\ntail"); !bytes.Equal(r.stdout, want) {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if want := []byte("err\r\n\n"); !bytes.Equal(r.stderr, want) {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, past every window
	r = run(t, c, "cat", big, nil)
	if !bytes.Equal(r.stdout, big) || r.code != 0 {
		t.Errorf("1 MiB through cat: got %d bytes, code %d", len(r.stdout), r.code)
	}
	stdin := []byte("a\x00b\xfe\n")
	r = run(t, c, "cat; echo end >&2", stdin, nil)
	if !bytes.Equal(r.stdout, stdin) || string(r.stderr) != "end\n" {
		t.Errorf("stdin echo: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestExecEnvironment(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	r := run(t, c, `printf '%s|%s|%s|%s|%s|%s|%s' "$HOME" "$USER" "$LOGNAME" "$SHELL" "$PATH" "$FOO" "$(pwd)"`, nil,
		map[string]string{"FOO": "multi\nline 'q' é"})
	want := strings.Join([]string{h.rootHome, "root", "root", "/bin/sh", DefaultPath, "multi\nline 'q' é", h.rootHome}, "|")
	if string(r.stdout) != want {
		t.Fatalf("env:\n got %q\nwant %q", r.stdout, want)
	}
	if strings.Contains(h.logs.String(), "multi") {
		t.Fatal("an env value reached the log")
	}
}

func TestEnvRequests(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	tests := []struct {
		name, key, value string
		ok               bool
	}{
		{"plain", "APP_MODE", "production", true},
		{"underscore start", "_X1", "", true},
		{"override PATH", "PATH", "/bin", true},
		{"dash in key", "MY-VAR", "x", false},
		{"digit first", "1A", "x", false},
		{"trailing newline in key", "A\n", "x", false},
		{"empty key", "", "x", false},
		{"NUL in value", "A", "a\x00b", false},
		{"invalid UTF-8 value", "A", "\xff", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := c.NewSession()
			must(t, err)
			defer s.Close()
			err = s.Setenv(tc.key, tc.value)
			if (err == nil) != tc.ok {
				t.Fatalf("Setenv(%q) err = %v, want ok=%v", tc.key, err, tc.ok)
			}
			if !tc.ok {
				return
			}
			out, err := s.Output(fmt.Sprintf(`printf '%%s' "$%s"`, tc.key))
			must(t, err)
			if string(out) != tc.value {
				t.Fatalf("$%s = %q, want %q", tc.key, out, tc.value)
			}
		})
	}
}

// rawExec runs cmd on a raw session channel and returns the channel
// requests the server sent, to check exit-status is always there.
func rawExec(t *testing.T, c *ssh.Client, cmd string, signal string) []*ssh.Request {
	t.Helper()
	ch, reqs, err := c.OpenChannel("session", nil)
	must(t, err)
	ok, err := ch.SendRequest("exec", true, ssh.Marshal(struct{ Command string }{cmd}))
	if err != nil || !ok {
		t.Fatalf("exec: %v %v", ok, err)
	}
	if signal != "" {
		line, err := bufio.NewReader(ch).ReadString('\n')
		if err != nil || line != "ready\n" {
			t.Fatalf("read ready: %q %v", line, err)
		}
		if _, err := ch.SendRequest("signal", false, ssh.Marshal(struct{ Signal string }{signal})); err != nil {
			t.Fatal(err)
		}
	}
	go func() { _, _ = io.Copy(io.Discard, ch) }()
	var got []*ssh.Request
	for r := range reqs {
		got = append(got, r)
	}
	return got
}

func TestExitStatusAlwaysSent(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	types := func(rs []*ssh.Request) (s []string) {
		for _, r := range rs {
			s = append(s, r.Type)
		}
		return s
	}
	status := func(rs []*ssh.Request) uint32 {
		for _, r := range rs {
			if r.Type == "exit-status" && len(r.Payload) == 4 {
				return uint32(r.Payload[0])<<24 | uint32(r.Payload[1])<<16 | uint32(r.Payload[2])<<8 | uint32(r.Payload[3])
			}
		}
		t.Fatalf("no exit-status in %v", types(rs))
		return 0
	}
	if rs := rawExec(t, c, "true", ""); status(rs) != 0 || len(rs) != 1 {
		t.Fatalf("exit 0: %v", types(rs))
	}
	if rs := rawExec(t, c, "exit 3", ""); status(rs) != 3 {
		t.Fatalf("exit 3: %v", types(rs))
	}
	rs := rawExec(t, c, "echo ready; exec sleep 1000", "KILL")
	if status(rs) != 128+9 || len(rs) != 2 || rs[0].Type != "exit-signal" {
		t.Fatalf("killed: %v", types(rs))
	}
	var sig struct {
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}
	must(t, ssh.Unmarshal(rs[0].Payload, &sig))
	if sig.Signal != "KILL" {
		t.Fatalf("exit-signal %q, want KILL", sig.Signal)
	}
}

// startGrandchild starts `sleep 1000` in the background of a shell that
// waits for it and returns the session and the sleep's PID.
func startGrandchild(t *testing.T, c *ssh.Client) (*ssh.Session, int, chan error) {
	t.Helper()
	s, err := c.NewSession()
	must(t, err)
	out, err := s.StdoutPipe()
	must(t, err)
	must(t, s.Start("sleep 1000 & echo $!; wait"))
	line, err := bufio.NewReader(out).ReadString('\n')
	must(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	must(t, err)
	if gone(pid) {
		t.Fatalf("grandchild %d not running", pid)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	return s, pid, done
}

func TestSignalKillsProcessGroup(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	s, pid, done := startGrandchild(t, c)
	defer s.Close()
	must(t, s.Signal(ssh.SIGTERM))
	err := <-done
	var ee *ssh.ExitError
	if !errorsAs(err, &ee) || ee.Signal() != "TERM" || ee.ExitStatus() != 128+15 {
		t.Fatalf("Wait = %v, want exit-signal TERM", err)
	}
	waitGone(t, pid)
	// An unknown signal name is refused, not mapped to something else.
	s2, err := c.NewSession()
	must(t, err)
	defer s2.Close()
	must(t, s2.Start("sleep 0.1"))
	if ok, _ := sendSignal(s2, "NOPE"); ok {
		t.Fatal("unknown signal accepted")
	}
}

func sendSignal(s *ssh.Session, name string) (bool, error) {
	// ssh.Session.Signal does not want a reply; ask for one through the
	// raw request to see the server refuse.
	return s.SendRequest("signal", true, ssh.Marshal(struct{ Signal string }{name}))
}

func TestClosedChannelKillsProcessGroup(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	s, pid, _ := startGrandchild(t, c)
	must(t, s.Close())
	waitGone(t, pid)
	// Dropping the whole connection does the same.
	c2 := h.dial(t, "root")
	_, pid2, _ := startGrandchild(t, c2)
	must(t, c2.Close())
	waitGone(t, pid2)
}

func TestBackgroundOutputDoesNotHangExec(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	// The background sleep keeps stdout open; the session still ends with
	// the shell's output and status, and the sleep survives (it is not
	// the command any more).
	r := run(t, c, "sleep 1000 & echo $!; exit 5", nil, nil)
	if r.code != 5 {
		t.Fatalf("code %d", r.code)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(r.stdout)))
	must(t, err)
	defer func() { _ = syscallKill(pid) }()
	if gone(pid) {
		t.Fatal("background process was killed after a normal exit")
	}
}

func TestPTY(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	s, err := c.NewSession()
	must(t, err)
	defer s.Close()
	must(t, s.RequestPty("xterm-256color", 40, 100, ssh.TerminalModes{}))
	out, err := s.Output("stty size; echo $TERM; tty")
	must(t, err)
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(out), "\r", "")), "\n")
	if len(lines) != 3 || lines[0] != "40 100" || lines[1] != "xterm-256color" || !strings.HasPrefix(lines[2], "/dev/pts/") {
		t.Fatalf("pty output %q", out)
	}
	// Interactive shell: a window-change shows up in stty size.
	s2, err := c.NewSession()
	must(t, err)
	defer s2.Close()
	must(t, s2.RequestPty("vt100", 24, 80, ssh.TerminalModes{}))
	in, err := s2.StdinPipe()
	must(t, err)
	pr, pw := io.Pipe()
	s2.Stdout = pw
	must(t, s2.Shell())
	must(t, s2.WindowChange(50, 132))
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "50 132" {
				found <- true
				_, _ = io.Copy(io.Discard, pr)
				return
			}
		}
		found <- false
	}()
	deadline := time.After(20 * time.Second)
	for ok := false; !ok; {
		_, err := io.WriteString(in, "stty size\n")
		must(t, err)
		select {
		case ok = <-found:
			if !ok {
				t.Fatal("shell output ended without the new size")
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("window-change never reached the PTY")
		}
	}
	_, _ = io.WriteString(in, "exit 4\n")
	err = s2.Wait()
	_ = pw.Close()
	var ee *ssh.ExitError
	if !errorsAs(err, &ee) || ee.ExitStatus() != 4 {
		t.Fatalf("shell exit = %v, want 4", err)
	}
}

func TestSFTP(t *testing.T) {
	modes := map[string][]harnessOpt{
		"in process": nil,
		"subprocess": {func(c *Config) { c.SFTPCommand = []string{sftpServerBinary(t), "sftp-server"} }},
	}
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			h := startServer(t, opts...)
			for _, user := range []string{"root", "user"} {
				c := h.dial(t, user)
				sc, err := sftp.NewClient(c)
				must(t, err)
				data := append(bytes.Repeat([]byte{0, 1, 2, 0xff}, 100000), '\n')
				f, err := sc.Create("up.bin")
				must(t, err)
				_, err = f.Write(data)
				must(t, err)
				must(t, f.Close())
				home := map[string]string{"root": h.rootHome, "user": h.userHome}[user]
				got, err := os.ReadFile(filepath.Join(home, "up.bin"))
				must(t, err)
				if !bytes.Equal(got, data) {
					t.Fatalf("%s put: %d bytes landed, want %d", user, len(got), len(data))
				}
				g, err := sc.Open(filepath.Join(home, "up.bin"))
				must(t, err)
				back, err := io.ReadAll(g)
				must(t, err)
				_ = g.Close()
				if !bytes.Equal(back, data) {
					t.Fatalf("%s get: %d bytes", user, len(back))
				}
				fi, err := os.Stat(filepath.Join(home, "up.bin"))
				must(t, err)
				wantUID := map[string]uint32{"root": 0, "user": 1000}[user]
				if name == "subprocess" && fileUID(fi) != wantUID {
					t.Fatalf("%s: file owned by %d, want %d", user, fileUID(fi), wantUID)
				}
				_ = sc.Close()
			}
		})
	}
}

func TestDirectTCPIP(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				b, _ := io.ReadAll(conn)
				_, _ = conn.Write(append([]byte("echo:"), b...))
			}()
		}
	}()
	conn, err := c.Dial("tcp", ln.Addr().String())
	must(t, err)
	_, err = conn.Write([]byte("ping\x00"))
	must(t, err)
	must(t, conn.(interface{ CloseWrite() error }).CloseWrite())
	got, err := io.ReadAll(conn)
	must(t, err)
	if string(got) != "echo:ping\x00" {
		t.Fatalf("got %q", got)
	}
	// A closed port is refused as a channel open failure.
	if _, err := c.Dial("tcp", "127.0.0.1:1"); err == nil {
		t.Fatal("dial to closed port succeeded")
	}
}

func TestAuth(t *testing.T) {
	h := startServer(t)
	other, _ := newSigner(t)
	tests := []struct {
		name string
		user string
		key  ssh.Signer
		ok   bool
	}{
		{"authorized key as root", "root", h.clientKey, true},
		{"authorized key as second user", "user", h.clientKey, true},
		{"wrong key", "root", other, false},
		{"unknown user", "nobody-here", h.clientKey, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := h.dialWith(tc.user, tc.key)
			if (err == nil) != tc.ok {
				t.Fatalf("dial err = %v, want ok=%v", err, tc.ok)
			}
			if c != nil {
				_ = c.Close()
			}
		})
	}
	// No authorized keys at all: nobody gets in.
	h2 := startServer(t, func(c *Config) { c.AuthorizedKeys = nil })
	if c, err := h2.dialWith("root", h2.clientKey); err == nil {
		_ = c.Close()
		t.Fatal("login without authorized keys")
	}
}

func TestNonRootUser(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "user")
	r := run(t, c, `id -u; id -g; id -G; printf '%s %s %s\n' "$HOME" "$USER" "$(pwd)"; touch f; stat -c %u f`, nil, nil)
	want := fmt.Sprintf("1000\n1000\n1000 2000\n%s user %s\n1000\n", h.userHome, h.userHome)
	if string(r.stdout) != want || r.code != 0 {
		t.Fatalf("got %q (code %d, stderr %q), want %q", r.stdout, r.code, r.stderr, want)
	}
}

func TestKeepalive(t *testing.T) {
	h := startServer(t)
	c := h.dial(t, "root")
	ok, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
	if err != nil || !ok {
		t.Fatalf("keepalive: %v %v", ok, err)
	}
	ok, _, err = c.SendRequest("tcpip-forward", true, ssh.Marshal(struct {
		Addr string
		Port uint32
	}{"127.0.0.1", 0}))
	if err != nil || ok {
		t.Fatalf("tcpip-forward should be refused: %v %v", ok, err)
	}
}

// flakyListener fails its first Accept calls with a transient error.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscallEMFILE)}
	}
	return l.Listener.Accept()
}

func TestServeSurvivesTransientAcceptErrors(t *testing.T) {
	h := startServer(t)
	hostKey, _ := newSigner(t)
	srv, err := New(Config{HostKey: hostKey, AuthorizedKeys: []ssh.PublicKey{h.clientKey.PublicKey()},
		PasswdPath: filepath.Join(filepath.Dir(h.rootHome), "passwd"), Logger: discardLogger()})
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, &flakyListener{Listener: ln, fails: 3}) }()
	c, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(h.clientKey)}, HostKeyCallback: ssh.FixedHostKey(hostKey.PublicKey())})
	must(t, err)
	if r := run(t, c, "exit 7", nil, nil); r.code != 7 {
		t.Fatalf("code %d", r.code)
	}
	_ = c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	// A listener closed under it (not by ctx) ends Serve with net.ErrClosed.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go func() { done <- srv.Serve(context.Background(), ln2) }()
	_ = ln2.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve on closed listener: %v", err)
	}
}

package sshx

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/testenv"
	"golang.org/x/crypto/ssh"
)

// testSSHD is a real OpenSSH server on 127.0.0.1 with a temp host key,
// config and authorized_keys, run as root in the foreground (-D -e).
type testSSHD struct {
	t       *testing.T
	dir     string
	bin     string
	port    int
	hostKey ssh.Signer
	client  ssh.Signer
	home    string // HOME for sessions: its .profile is a login shell's profile

	mu  sync.Mutex
	cmd *exec.Cmd
	log *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testAcceptEnv are the env patterns the test server accepts.
const testAcceptEnv = "SSHX_* " + RunEnvPrefix + "*"

// newTestSSHD writes the server's files; call start to run it. The port is
// picked free now and kept across restarts.
func newTestSSHD(t *testing.T, extraConfig ...string) *testSSHD {
	t.Helper()
	bin := testenv.RequireTool(t, "sshd")
	if os.Geteuid() != 0 {
		t.Skip("sshd tests run sshd as root")
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err == nil {
		bin = "/usr/sbin/sshd" // sshd wants an absolute path to re-exec
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation dir
		t.Fatalf("mkdir /run/sshd: %v", err)
	}
	dir := t.TempDir()
	d := &testSSHD{t: t, dir: dir, bin: bin, port: freePort(t), home: filepath.Join(dir, "home")}
	if err := os.Mkdir(d.home, 0o755); err != nil {
		t.Fatal(err)
	}
	// A non-root login user must be able to read authorized_keys and HOME.
	for _, p := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(p, 0o755); err != nil { //nolint:gosec // test dirs hold only public data and the host key (0600)
			t.Fatal(err)
		}
	}
	d.hostKey = writeKey(t, filepath.Join(dir, "host_key"))
	var err error
	if d.client, err = LoadOrCreateKey(filepath.Join(dir, "client", "id_ed25519")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "authorized_keys"), AuthorizedKey(d.client)+"\n")
	if err := os.Chmod(filepath.Join(dir, "authorized_keys"), 0o644); err != nil { //nolint:gosec // a public key
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "sshd_config"), fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
AcceptEnv %s
SetEnv HOME=%s
StrictModes no
%s
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
`, d.port, filepath.Join(dir, "host_key"), filepath.Join(dir, "sshd.pid"),
		filepath.Join(dir, "authorized_keys"), testAcceptEnv, d.home, pamLine(extraConfig)))
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", d.log)
		}
	})
	return d
}

// start runs sshd and waits until its port accepts connections.
func (d *testSSHD) start() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = &syncBuffer{}
	cmd := exec.Command(d.bin, "-D", "-e", "-f", filepath.Join(d.dir, "sshd_config")) //nolint:gosec // test binary
	cmd.Stdout, cmd.Stderr = d.log, d.log
	// Own process group: stop kills the listener and every per-connection
	// child, which breaks established connections like a VM restart.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("start sshd: %v", err)
	}
	d.cmd = cmd
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", d.addr())
		if err == nil {
			_ = c.Close()
			return
		}
		if i > 500 {
			d.t.Fatalf("sshd does not listen on %s: %v\n%s", d.addr(), err, d.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop kills sshd's process group and reaps the listener.
func (d *testSSHD) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	// Per-connection children call setsid, so the group kill misses them:
	// kill them (and what they run) by PID first.
	for _, pid := range descendants(d.cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	_ = d.cmd.Wait()
	d.cmd = nil
}

func (d *testSSHD) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)) }

// config returns a client Config for this server.
func (d *testSSHD) config() Config {
	return Config{
		Dial: func(ctx context.Context) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "tcp", d.addr())
		},
		Signer:  d.client,
		HostKey: func() (string, error) { return AuthorizedKey(d.hostKey), nil },
	}
}

// newClient returns a Client for this server, closed at test end.
func (d *testSSHD) newClient(mod func(*Config)) *Client {
	d.t.Helper()
	cfg := d.config()
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { _ = c.Close() })
	return c
}

func writeKey(t *testing.T, path string) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// pamLine is "UsePAM no" unless extra asks for PAM (then the extra lines):
// without PAM, OpenSSH refuses logins to accounts with a locked password,
// which is what system users with a shell usually have.
func pamLine(extra []string) string {
	if len(extra) == 0 {
		return "UsePAM no"
	}
	return strings.Join(extra, "\n")
}

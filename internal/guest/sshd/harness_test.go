package sshd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestMain doubles as the sftp-server program the tests configure as
// SFTPCommand, and as the subreaper helper (see reaper_test.go).
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == "sftp-server" {
		if err := ServeSFTP(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(helperEnv) != "" {
		os.Exit(subreaperHelper())
	}
	code := m.Run()
	if sftpBin != "" {
		_ = os.RemoveAll(filepath.Dir(sftpBin))
	}
	os.Exit(code)
}

// harness is one running server with its keys and users.
type harness struct {
	addr       string
	hostKey    ssh.Signer
	clientKey  ssh.Signer
	keyFile    string // client private key, OpenSSH format
	knownHosts string
	rootHome   string
	userHome   string
	logs       *bytes.Buffer
}

func newSigner(t testing.TB) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, pem.EncodeToMemory(blk)
}

type harnessOpt func(*Config)

func startServer(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{logs: &bytes.Buffer{}}
	h.hostKey, _ = newSigner(t)
	var pemKey []byte
	h.clientKey, pemKey = newSigner(t)
	h.keyFile = filepath.Join(dir, "id_ed25519")
	must(t, os.WriteFile(h.keyFile, pemKey, 0o600))
	h.rootHome = filepath.Join(dir, "root")
	h.userHome = filepath.Join(dir, "user")
	must(t, os.Mkdir(h.rootHome, 0o700))
	must(t, os.Mkdir(h.userHome, 0o755))
	must(t, os.Chown(h.userHome, 1000, 1000))
	// The temp dir and its per-test parent must be traversable by uid 1000.
	must(t, os.Chmod(dir, 0o755))
	must(t, os.Chmod(filepath.Dir(dir), 0o755))
	passwd := fmt.Sprintf("root:x:0:0:root:%s:/bin/sh\n# comment\nuser:x:1000:1000::%s:/bin/sh\n", h.rootHome, h.userHome)
	must(t, os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "group"), []byte("root:x:0:\nextra:x:2000:user\n"), 0o644))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	h.addr = ln.Addr().String()
	cfg := Config{
		HostKey:        h.hostKey,
		AuthorizedKeys: []ssh.PublicKey{h.clientKey.PublicKey()},
		PasswdPath:     filepath.Join(dir, "passwd"),
		GroupPath:      filepath.Join(dir, "group"),
		Logger:         slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	must(t, err)
	_, port, _ := net.SplitHostPort(h.addr)
	h.knownHosts = filepath.Join(dir, "known_hosts")
	must(t, os.WriteFile(h.knownHosts, []byte("[127.0.0.1]:"+port+" "+srv.HostKeyLine()+"\n"), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", h.logs.String())
		}
	})
	return h
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dial logs in as user with the authorized key, pinning the host key.
func (h *harness) dial(t testing.TB, user string) *ssh.Client {
	t.Helper()
	c, err := h.dialWith(user, h.clientKey)
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (h *harness) dialWith(user string, key ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", h.addr, &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(h.hostKey.PublicKey()),
		Timeout:         10 * time.Second,
	})
}

// result is one command's outcome as the client saw it.
type result struct {
	stdout, stderr []byte
	code           int
	signal         string
}

// run runs cmd in a fresh session with stdin and env.
func run(t testing.TB, c *ssh.Client, cmd string, stdin []byte, env map[string]string) result {
	t.Helper()
	s, err := c.NewSession()
	must(t, err)
	defer s.Close()
	for k, v := range env {
		must(t, s.Setenv(k, v))
	}
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	if stdin != nil {
		s.Stdin = bytes.NewReader(stdin)
	}
	err = s.Run(cmd)
	r := result{stdout: out.Bytes(), stderr: errb.Bytes()}
	var ee *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code, r.signal = ee.ExitStatus(), ee.Signal()
	default:
		t.Fatalf("run %q: %v", cmd, err)
	}
	return r
}

// lockedWriter serialises log writes from many goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// gone reports whether pid no longer runs (absent, or a zombie waiting for
// whoever reaps orphans).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && strings.HasPrefix(s[i:], ") Z")
}

func waitGone(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package sshd

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/testenv"
)

// openssh runs the real OpenSSH client against h with the host key
// pinned (StrictHostKeyChecking=yes, no other known_hosts).
func (h *harness) openssh(t *testing.T, extra []string, stdin []byte) (stdout, stderr []byte, code int) {
	t.Helper()
	bin := testenv.RequireTool(t, "ssh")
	_, port, _ := net.SplitHostPort(h.addr)
	args := []string{"-F", "/dev/null", "-i", h.keyFile, "-p", port,
		"-o", "UserKnownHostsFile=" + h.knownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"}
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("ssh: %v", err)
	}
	return out.Bytes(), errb.Bytes(), cmd.ProcessState.ExitCode()
}

func TestOpenSSHExec(t *testing.T) {
	h := startServer(t)
	tests := []struct {
		name           string
		cmd            string
		stdin          []byte
		stdout, stderr string
		code           int
	}{
		{"success", "true", nil, "", "", 0},
		{"failure", "false", nil, "", "", 1},
		{"exit 42", "echo out; echo err >&2; exit 42", nil, "out\n", "err\n", 42},
		{"not found", "smolvm-no-such-command-xyz 2>/dev/null", nil, "", "", 127},
		{"binary and trailing newlines", `printf '\000\377\n\n\n'; printf 'e\n\n' >&2`, nil, "\x00\xff\n\n\n", "e\n\n", 0},
		{"stdin", "cat; echo done", []byte("in\x00put\n"), "in\x00put\ndone\n", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errb, code := h.openssh(t, []string{"root@127.0.0.1", tc.cmd}, tc.stdin)
			if string(out) != tc.stdout || string(errb) != tc.stderr || code != tc.code {
				t.Fatalf("got stdout %q stderr %q code %d; want %q %q %d", out, errb, code, tc.stdout, tc.stderr, tc.code)
			}
		})
	}
}

func TestOpenSSHSetEnv(t *testing.T) {
	h := startServer(t)
	out, errb, code := h.openssh(t, []string{"-o", "SetEnv=APP_MODE=production", "root@127.0.0.1", `printf %s "$APP_MODE"`}, nil)
	if string(out) != "production" || code != 0 {
		t.Fatalf("got %q %q %d", out, errb, code)
	}
}

func TestOpenSSHPTYShell(t *testing.T) {
	h := startServer(t)
	out, errb, code := h.openssh(t, []string{"-tt", "root@127.0.0.1"}, []byte("echo h''i; exit 3\n"))
	if code != 3 {
		t.Fatalf("exit %d, want 3; stdout %q stderr %q", code, out, errb)
	}
	// The terminal echoes the input line (which does not contain "hi"),
	// then the shell prints "hi" with the terminal's CRLF.
	if !strings.Contains(string(out), "hi\r\n") {
		t.Fatalf("no line \"hi\" in %q", out)
	}
}

func TestOpenSSHWrongKeyRefused(t *testing.T) {
	h := startServer(t)
	_, pemKey := newSigner(t)
	h.keyFile = filepath.Join(t.TempDir(), "other")
	must(t, os.WriteFile(h.keyFile, pemKey, 0o600))
	_, errb, code := h.openssh(t, []string{"root@127.0.0.1", "true"}, nil)
	if code != 255 || !strings.Contains(string(errb), "Permission denied") {
		t.Fatalf("code %d stderr %q, want 255 and Permission denied", code, errb)
	}
}

func TestOpenSSHSFTP(t *testing.T) {
	h := startServer(t, func(c *Config) { c.SFTPCommand = []string{os.Args[0], "sftp-server"} })
	bin := testenv.RequireTool(t, "sftp")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	must(t, os.WriteFile(src, []byte("sftp\x00data\n"), 0o644))
	batch := filepath.Join(dir, "batch")
	must(t, os.WriteFile(batch, []byte("put "+src+" copied\nget copied "+filepath.Join(dir, "back")+"\n"), 0o644))
	_, port, _ := net.SplitHostPort(h.addr)
	cmd := exec.Command(bin, "-F", "/dev/null", "-i", h.keyFile, "-P", port, "-b", batch,
		"-o", "UserKnownHostsFile="+h.knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "root@127.0.0.1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	for _, p := range []string{filepath.Join(h.rootHome, "copied"), filepath.Join(dir, "back")} {
		b, err := os.ReadFile(p)
		if err != nil || string(b) != "sftp\x00data\n" {
			t.Fatalf("%s: %q %v", p, b, err)
		}
	}
}

// TestOpenSSHPTYStdinEOF: `ssh -tt < file` without an exit line ends the
// shell at EOF (the server types ^D), like a terminal would.
func TestOpenSSHPTYStdinEOF(t *testing.T) {
	h := startServer(t)
	out, errb, code := h.openssh(t, []string{"-tt", "root@127.0.0.1"}, []byte("echo h''i\n"))
	if code != 0 || !strings.Contains(string(out), "hi\r\n") {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errb)
	}
}

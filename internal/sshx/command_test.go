package sshx

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/smolvm/smolvm/internal/testenv"
)

func TestLoginCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  string
		keys []string
		want string
		err  error
	}{
		{"bare word", "ls", nil, "exec /bin/sh -lc ls", nil},
		{"quoted", "echo $HOME", nil, "exec /bin/sh -lc 'echo $HOME'", nil},
		{"single quote", "echo 'x'", nil, `exec /bin/sh -lc 'echo '"'"'x'"'"''`, nil},
		{"env keys sorted and deduplicated", "env", []string{"B", "A", "B"},
			`exec /bin/sh -lc 'export A="$SMOLVM_RUNENV_A"; unset SMOLVM_RUNENV_A; export B="$SMOLVM_RUNENV_B"; unset SMOLVM_RUNENV_B; env'`, nil},
		{"invalid key", "env", []string{"A;rm -rf /"}, "", ErrInvalidEnv},
		{"empty key", "env", []string{""}, "", ErrInvalidEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoginCommand(tc.cmd, tc.keys)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestLoginCommandLocalShells runs LoginCommand's output through local
// shells the way sshd does (the user's shell -c), with HOME pointing at a
// temp .profile that exports the same variable: the per-command value
// must win, the copy must be gone, and the command must behave as typed.
func TestLoginCommandLocalShells(t *testing.T) {
	home := t.TempDir()
	mustWrite(t, filepath.Join(home, ".profile"), "export SSHX_WIN=from-profile\nexport SSHX_ONLY=profile-only\n")
	value := "from-run 'q' \"d\" $HOME\nline2\\"
	cmd := `printf '%s|%s|%s|%s' "$SSHX_WIN" "$SSHX_ONLY" "${SMOLVM_RUNENV_SSHX_WIN-gone}" '$K "x"'` + "\nprintf '|%s' \"$0\""
	line, err := LoginCommand(cmd, []string{"SSHX_WIN"})
	if err != nil {
		t.Fatal(err)
	}
	want := value + `|profile-only|gone|$K "x"|/bin/sh`
	for _, sh := range []string{"sh", "dash", "bash", "busybox"} {
		t.Run(sh, func(t *testing.T) {
			bin := testenv.RequireTool(t, sh)
			args := []string{"-c", line}
			if sh == "busybox" {
				args = append([]string{"sh"}, args...)
			}
			c := exec.Command(bin, args...) //nolint:gosec // test
			c.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "SSHX_WIN=" + value, RunEnvPrefix + "SSHX_WIN=" + value}
			var stderr bytes.Buffer
			c.Stderr = &stderr
			out, err := c.Output()
			if err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			if string(out) != want {
				t.Errorf("got  %q\nwant %q", out, want)
			}
		})
	}
}

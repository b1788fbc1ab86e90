package envsync

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/env"
	"github.com/smolvm/smolvm/internal/testenv"
)

// cannedGuest is a misbehaving guest: a real dash running a fixed script
// instead of the envsync command. It records what the host sent on stdin
// in a file, and the command it was given.
type cannedGuest struct {
	script string
	dir    string
	cmd    string
}

func (g *cannedGuest) Start(ctx context.Context, cmd string, stderr io.Writer) (*Process, error) {
	g.cmd = cmd
	c := exec.CommandContext(ctx, "dash", "-c", g.script, "guest", filepath.Join(g.dir, "stdin"))
	c.Env = minimalEnv
	c.Stderr = stderr
	in, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	return &Process{Stdin: in, Stdout: out, Wait: c.Wait}, nil
}

func (g *cannedGuest) sent(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(g.dir, "stdin"))
	if err != nil {
		return "<nothing read>"
	}
	return string(b)
}

// TestProtocolEdges drives the host side against guests that print junk,
// lie about sizes, fail, or answer wrongly.
func TestProtocolEdges(t *testing.T) {
	testenv.RequireTool(t, "dash")
	big := strings.Repeat("#", env.MaxFileSize+1)
	tests := []struct {
		name     string
		op       string // "list", "set" or "unset"
		script   string // $1 is where to save stdin
		want     error  // nil: success
		wantSent string // what the host must have sent, when checked
		check    func(t *testing.T, got map[string]string, err error)
	}{
		{name: "junk lines before the frame are skipped", op: "list",
			script: `printf 'motd line\nmore junk' ; printf 'SMOLVM-ENV 1 13\nexport A=1\nxx'`,
			check: func(t *testing.T, got map[string]string, err error) {
				if err != nil || got["A"] != "1" || len(got) != 1 {
					t.Errorf("got %v, %v; want A=1", got, err)
				}
			}},
		{name: "missing frame", op: "list", script: `printf 'SMOLVM-ENV 1 missing\n'`,
			check: func(t *testing.T, got map[string]string, err error) {
				if err != nil || got == nil || len(got) != 0 {
					t.Errorf("got %#v, %v; want an empty map", got, err)
				}
			}},
		{name: "no frame at all", op: "list", script: `echo hello`, want: ErrProtocol},
		{name: "empty output", op: "list", script: `:`, want: ErrProtocol},
		{name: "bad size", op: "list", script: `printf 'SMOLVM-ENV 1 12x\n'`, want: ErrProtocol},
		{name: "negative size", op: "list", script: `printf 'SMOLVM-ENV 1 -1\n'`, want: ErrProtocol},
		{name: "size with leading zero", op: "list", script: `printf 'SMOLVM-ENV 1 01\nx'`, want: ErrProtocol},
		{name: "size over the host limit", op: "list", script: `printf 'SMOLVM-ENV 1 99999999999\n'`, want: ErrProtocol},
		{name: "frame cut short", op: "list", script: `printf 'SMOLVM-ENV 1 100\nexport A=1\n'`, want: ErrProtocol},
		{name: "output after the list frame", op: "list", script: `printf 'SMOLVM-ENV 1 0\nOK\n'`, want: ErrProtocol},
		{name: "guest error carries stderr", op: "list", script: `echo 'smolvm-env: cannot read it' >&2; exit 3`,
			check: func(t *testing.T, _ map[string]string, err error) {
				var ge *GuestError
				var ee *exec.ExitError
				if !errors.As(err, &ge) || !errors.Is(err, ErrGuest) || !errors.As(err, &ee) || ee.ExitCode() != 3 {
					t.Fatalf("err = %v, want a *GuestError wrapping exit status 3", err)
				}
				if ge.Message != "smolvm-env: cannot read it" || ge.Op != "list" {
					t.Errorf("GuestError = %+v", ge)
				}
			}},
		{name: "guest error wins over a protocol error", op: "set", script: `printf 'SMOLVM-ENV 1 5\nab'; exit 4`, want: ErrGuest},
		{name: "set sends the new file", op: "set",
			script:   `printf 'SMOLVM-ENV 1 missing\n'; cat >"$1"; echo OK`,
			wantSent: "63\n#!/bin/sh\n# SmolVM managed environment variables\n\nexport NEW=1\n"},
		{name: "unchanged set sends a dash", op: "set",
			script:   `printf 'SMOLVM-ENV 1 13\nexport NEW=1\n'; cat >"$1"; echo OK`,
			wantSent: "-\n"},
		{name: "unset of a missing key sends a dash", op: "unset",
			script:   `printf 'SMOLVM-ENV 1 13\nexport NEW=1\n'; cat >"$1"; echo OK`,
			wantSent: "-\n"},
		{name: "update without OK", op: "set", script: `printf 'SMOLVM-ENV 1 missing\n'; cat >"$1"; echo DONE`, want: ErrProtocol},
		{name: "update with OK and more", op: "set", script: `printf 'SMOLVM-ENV 1 missing\n'; cat >"$1"; printf 'OK\nOK\n'`, want: ErrProtocol},
		{name: "oversized current file refused for update", op: "set",
			script: `printf 'SMOLVM-ENV 1 ` + strconv.Itoa(len(big)) + `\n'; head -c ` + strconv.Itoa(len(big)) + ` /dev/zero | tr '\0' '#'; cat >"$1"; exit 1`,
			want:   env.ErrTooLarge, wantSent: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &cannedGuest{script: tc.script, dir: t.TempDir()}
			sy := &Syncer{Path: "/etc/profile.d/smolvm_env.sh"}
			var got map[string]string
			var err error
			switch tc.op {
			case "list":
				got, err = sy.List(testCtx(t), g)
			case "set":
				_, err = sy.Set(testCtx(t), g, map[string]string{"NEW": "1"}, false)
			case "unset":
				got, err = sy.Unset(testCtx(t), g, []string{"OTHER"})
			}
			if tc.check != nil {
				tc.check(t, got, err)
			} else if tc.want == nil && err != nil {
				t.Fatalf("err = %v", err)
			} else if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.wantSent != "" || tc.want == env.ErrTooLarge { //nolint:errorlint // identity of the table entry
				if s := g.sent(t); s != tc.wantSent {
					t.Errorf("host sent %q, want %q", s, tc.wantSent)
				}
			}
			if !strings.Contains(g.cmd, "\nf='/etc/profile.d/smolvm_env.sh'\n") && !strings.Contains(g.cmd, "\nf=/etc/profile.d/smolvm_env.sh\n") {
				t.Errorf("command does not name the env file")
			}
		})
	}
}

package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRun runs commands against one real sshd: exit codes, byte-exact
// output, stdin, env, login vs raw shells and quoting.
func TestRun(t *testing.T) {
	d := newTestSSHD(t)
	mustWrite(t, filepath.Join(d.home, ".profile"),
		"export SSHX_PROFILE=from-profile\nexport SSHX_WIN=from-profile\n")
	d.start()
	c := d.newClient(nil)
	ctx := context.Background()

	run := func(t *testing.T, cmd string, opts RunOptions) (Exit, string, string) {
		t.Helper()
		var o, e bytes.Buffer
		opts.Stdout, opts.Stderr = &o, &e
		exit, err := c.Run(ctx, cmd, opts)
		if err != nil {
			t.Fatalf("Run(%q): %v", cmd, err)
		}
		return exit, o.String(), e.String()
	}

	t.Run("exit codes", func(t *testing.T) {
		for _, tc := range []struct {
			name, cmd string
			want      int
		}{
			{"zero", "true", 0},
			{"one", "false", 1},
			{"forty-two", "exit 42", 42},
			{"not found", "no-such-command-sshx", 127},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, login := range []bool{false, true} {
					exit, _, _ := run(t, tc.cmd, RunOptions{Login: login})
					if exit != (Exit{Code: tc.want}) {
						t.Errorf("login=%v: exit %+v, want code %d", login, exit, tc.want)
					}
				}
			})
		}
	})

	t.Run("killed by signal", func(t *testing.T) {
		exit, _, _ := run(t, "kill -TERM $$", RunOptions{})
		if exit != (Exit{Code: 128 + 15, Signal: "TERM"}) {
			t.Errorf("exit %+v, want TERM/143", exit)
		}
	})

	t.Run("stdout and stderr byte-exact", func(t *testing.T) {
		// printf with octal escapes: every byte value, and trailing newlines.
		var all strings.Builder
		for b := 0; b < 256; b++ {
			fmt.Fprintf(&all, `\%03o`, b)
		}
		exit, out, errOut := run(t, `printf '`+all.String()+`\n\n'; printf 'err\0\377\n\n\n' >&2`, RunOptions{})
		var want []byte
		for b := 0; b < 256; b++ {
			want = append(want, byte(b))
		}
		want = append(want, '\n', '\n')
		if exit.Code != 0 || out != string(want) {
			t.Errorf("stdout %q (exit %d), want all 256 bytes and two newlines", out, exit.Code)
		}
		if errOut != "err\x00\xff\n\n\n" {
			t.Errorf("stderr %q", errOut)
		}
	})

	t.Run("large output streams", func(t *testing.T) {
		_, out, errOut := run(t, "head -c 3000000 /dev/zero; head -c 1000000 /dev/zero >&2", RunOptions{})
		if len(out) != 3000000 || len(errOut) != 1000000 || strings.Trim(out, "\x00") != "" {
			t.Errorf("got %d/%d bytes, want 3000000/1000000 zeros", len(out), len(errOut))
		}
	})

	t.Run("stdin", func(t *testing.T) {
		in := "line1\n\x00\xff'\"$X\nno newline"
		_, out, _ := run(t, "cat; echo; cat >&2", RunOptions{Stdin: strings.NewReader(in)})
		if out != in+"\n" {
			t.Errorf("stdout %q, want %q", out, in+"\n")
		}
		// A command that ignores its (large) stdin still exits 0.
		exit, _, _ := run(t, "true", RunOptions{Stdin: bytes.NewReader(make([]byte, 4<<20))})
		if exit.Code != 0 {
			t.Errorf("exit %d", exit.Code)
		}
	})

	t.Run("env accepted", func(t *testing.T) {
		env := map[string]string{"SSHX_A": "it's \"$HOME\"\nline2 ", "SSHX_EMPTY": ""}
		for _, login := range []bool{false, true} {
			_, out, _ := run(t, `printf '%s|%s|%s' "$SSHX_A" "${SSHX_EMPTY-unset}" "${SMOLVM_RUNENV_SSHX_A-gone}"`,
				RunOptions{Env: env, Login: login})
			if want := env["SSHX_A"] + "||gone"; out != want {
				t.Errorf("login=%v: got %q, want %q", login, out, want)
			}
		}
	})

	t.Run("env refused", func(t *testing.T) {
		mark := filepath.Join(d.dir, "refused-ran")
		for _, login := range []bool{false, true} {
			_, err := c.Run(ctx, "touch "+mark, RunOptions{Login: login, Env: map[string]string{"SSHX_OK": "1", "NOT_ACCEPTED": "secret-value"}})
			if !errors.Is(err, ErrEnvRefused) || !strings.Contains(err.Error(), "NOT_ACCEPTED") {
				t.Errorf("login=%v: err %v, want ErrEnvRefused naming NOT_ACCEPTED", login, err)
			}
			if err != nil && strings.Contains(err.Error(), "secret-value") {
				t.Errorf("error leaks the value: %v", err)
			}
		}
		if exit, _, _ := run(t, "test ! -e "+mark, RunOptions{}); exit.Code != 0 {
			t.Error("the command ran although an env request was refused")
		}
	})

	t.Run("env invalid", func(t *testing.T) {
		for name, env := range map[string]map[string]string{
			"dash":  {"FOO-BAR": "x"},
			"digit": {"1A": "x"},
			"empty": {"": "x"},
			"nl":    {"FOO\n": "x"},
			"nul":   {"SSHX_N": "a\x00b"},
			"utf8":  {"SSHX_N": "a\xffb"},
		} {
			before := c.Stats().Sessions
			_, err := c.Run(ctx, "true", RunOptions{Env: env})
			if !errors.Is(err, ErrInvalidEnv) {
				t.Errorf("%s: err %v, want ErrInvalidEnv", name, err)
			}
			if c.Stats().Sessions != before {
				t.Errorf("%s: a session was opened for invalid env", name)
			}
		}
	})

	t.Run("login vs raw", func(t *testing.T) {
		_, raw, _ := run(t, `printf '%s|%s' "$0" "${SSHX_PROFILE-}"`, RunOptions{})
		_, login, _ := run(t, `printf '%s|%s' "$0" "${SSHX_PROFILE-}"`, RunOptions{Login: true})
		if raw != "bash|" && raw != "sh|" { // the user's shell -c, no profile
			t.Errorf("raw: %q", raw)
		}
		if login != "/bin/sh|from-profile" {
			t.Errorf("login: %q, want /bin/sh|from-profile", login)
		}
	})

	t.Run("per-command env wins over profile", func(t *testing.T) {
		_, out, _ := run(t, `printf %s "$SSHX_WIN"`, RunOptions{Login: true, Env: map[string]string{"SSHX_WIN": "from-run"}})
		if out != "from-run" {
			t.Errorf("got %q, want from-run", out)
		}
		_, out, _ = run(t, `printf %s "$SSHX_WIN"`, RunOptions{Login: true})
		if out != "from-profile" {
			t.Errorf("without Env: got %q, want from-profile", out)
		}
	})

	t.Run("command behaves as typed", func(t *testing.T) {
		cmd := "K=kv; printf '%s|' \"it's\" 'say \"hi\"' \"$K\" '$K'\nprintf 'two\\n'"
		want := "it's|say \"hi\"|kv|$K|two\n"
		for _, login := range []bool{false, true} {
			_, out, _ := run(t, cmd, RunOptions{Login: login})
			if out != want {
				t.Errorf("login=%v: got %q, want %q", login, out, want)
			}
		}
	})

	t.Run("20 concurrent runs on one connection", func(t *testing.T) {
		before := c.Stats()
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				var o bytes.Buffer
				exit, err := c.Run(ctx, fmt.Sprintf("sleep 0.2; printf %%s %d; exit %d", i, i), RunOptions{Stdout: &o})
				if err == nil && (exit.Code != i || o.String() != fmt.Sprint(i)) {
					err = fmt.Errorf("run %d: exit %d, stdout %q", i, exit.Code, o.String())
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		after := c.Stats()
		if after.Connects != before.Connects || after.Sessions-before.Sessions != 20 {
			t.Errorf("stats before %+v after %+v: want 20 sessions on the same connection", before, after)
		}
	})

	t.Run("one writer for both streams", func(t *testing.T) {
		var both bytes.Buffer
		exit, err := c.Run(ctx, "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done", RunOptions{Stdout: &both, Stderr: &both})
		if err != nil || exit.Code != 0 {
			t.Fatalf("%+v %v", exit, err)
		}
		for i := 1; i <= 5; i++ {
			if !strings.Contains(both.String(), fmt.Sprintf("out%d\n", i)) || !strings.Contains(both.String(), fmt.Sprintf("err%d\n", i)) {
				t.Errorf("combined output %q lacks line %d", both.String(), i)
			}
		}
	})

	t.Run("failing writer", func(t *testing.T) {
		// The caller cannot take the output: Run kills the command and
		// returns the writer's error at once instead of waiting it out.
		start := time.Now()
		exit, err := c.Run(ctx, "echo x; sleep 30; exit 4", RunOptions{Stdout: failWriter{}})
		if !errors.Is(err, errWrite) || exit.Code != -1 {
			t.Errorf("exit %+v err %v, want the writer's error", exit, err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("Run returned after %v: it waited for the command", d)
		}
	})

	t.Run("counters", func(t *testing.T) {
		before := c.Stats()
		run(t, "cat >/dev/null", RunOptions{Stdin: strings.NewReader("12345")})
		after := c.Stats()
		if got := after.StdinBytes - before.StdinBytes; got != 5 {
			t.Errorf("stdin bytes %d, want 5", got)
		}
		if got := after.CommandBytes - before.CommandBytes; got != uint64(len("cat >/dev/null")) {
			t.Errorf("command bytes %d", got)
		}
		if after.Sessions-before.Sessions != 1 {
			t.Errorf("sessions %d, want 1", after.Sessions-before.Sessions)
		}
	})
}

var errWrite = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

package smolvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/testenv"
)

// One VM is shared by the tests that only run commands in it: boots are
// slow under TCG. Tests that change a VM's lifecycle boot their own.
var shared struct {
	once    sync.Once
	vm      *VM
	err     error
	dataDir string
	boot    time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.vm != nil {
		if err := shared.vm.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the shared VM:", err)
			code = 1
		}
	}
	if shared.dataDir != "" {
		_ = os.RemoveAll(shared.dataDir)
	}
	os.Exit(code)
}

// testDataDir returns a fresh data dir (short path: unix socket limit).
func testDataDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "smolvm-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func testOptions(t testing.TB, dataDir string) []Option {
	return []Option{WithDataDir(dataDir), WithBootTimeout(4 * time.Minute), WithProgress(func(p Progress) {
		t.Logf("progress: %s %s", p.Step, p.Detail)
	})}
}

// sharedVM returns the shared running VM, booting it on first use with
// boot-time env (checked by TestBootTimeEnvVisibleInFirstRun).
func sharedVM(t *testing.T) *VM {
	t.Helper()
	testenv.RequireVM(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "smolvm-shared-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dataDir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		shared.vm, shared.err = New(ctx, Config{ID: "shared", Env: map[string]string{"BOOT_VAR": "from boot"}},
			WithDataDir(dir), WithBootTimeout(5*time.Minute))
		shared.boot = time.Since(start)
	})
	if shared.err != nil {
		t.Fatalf("booting the shared VM: %v", shared.err)
	}
	return shared.vm
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// mustRun runs cmd and fails the test on error (not on a non-zero exit).
func mustRun(t *testing.T, vm *VM, cmd string, opts ...RunOption) *Result {
	t.Helper()
	res, err := vm.Run(ctxT(t, 2*time.Minute), cmd, opts...)
	if err != nil {
		t.Fatalf("Run(%q): %v", cmd, err)
	}
	return res
}

func TestBootTimeEnvVisibleInFirstRun(t *testing.T) {
	vm := sharedVM(t)
	t.Logf("shared VM booted in %s", shared.boot)
	res := mustRun(t, vm, `printf %s "$BOOT_VAR"`)
	if string(res.Stdout) != "from boot" {
		t.Fatalf("BOOT_VAR = %q, want %q", res.Stdout, "from boot")
	}
}

func TestRunExitCodes(t *testing.T) {
	vm := sharedVM(t)
	for _, tc := range []struct {
		cmd  string
		want int
	}{
		{"true", 0}, {"false", 1}, {"exit 42", 42}, {"no-such-command-xyz", 127},
	} {
		res := mustRun(t, vm, tc.cmd)
		if res.ExitCode != tc.want {
			t.Errorf("%q exited %d, want %d (stderr %q)", tc.cmd, res.ExitCode, tc.want, res.Stderr)
		}
	}
}

func TestRunOutputExact(t *testing.T) {
	vm := sharedVM(t)
	res := mustRun(t, vm, `printf 'out\n\n'; printf 'err\n' >&2; printf '\000\377\001\r\n' ; printf ' trailing  ' >&2`)
	if got, want := string(res.Stdout), "out\n\n\x00\xff\x01\r\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := string(res.Stderr), "err\n trailing  "; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if want := "out\n\n\x00\xff\x01"; res.Output() != want {
		t.Errorf("Output() = %q, want %q (stdout trimmed)", res.Output(), want)
	}
}

func TestRunStdin(t *testing.T) {
	vm := sharedVM(t)
	in := "line one\nline 'two' $HOME\n\x00end"
	res := mustRun(t, vm, "cat", Stdin(strings.NewReader(in)))
	if string(res.Stdout) != in {
		t.Errorf("cat echoed %q, want %q", res.Stdout, in)
	}
}

func TestRunCommandQuoting(t *testing.T) {
	vm := sharedVM(t)
	cmd := "K='it'\"'\"'s'; printf '%s|' \"$K\" 'say \"hi\"' '$K'\necho second line"
	want := "it's|say \"hi\"|$K|second line\n"
	for _, raw := range []bool{false, true} {
		var opts []RunOption
		if raw {
			opts = append(opts, Raw())
		}
		res := mustRun(t, vm, cmd, opts...)
		if string(res.Stdout) != want || res.ExitCode != 0 {
			t.Errorf("raw=%v: stdout %q exit %d, want %q", raw, res.Stdout, res.ExitCode, want)
		}
	}
}

func TestRunLoginVersusRaw(t *testing.T) {
	vm := sharedVM(t)
	login := mustRun(t, vm, `printf %s "$BOOT_VAR"`)
	raw := mustRun(t, vm, `printf %s "$BOOT_VAR"`, Raw())
	if string(login.Stdout) != "from boot" || string(raw.Stdout) != "" {
		t.Errorf("login saw %q (want the value), raw saw %q (want nothing)", login.Stdout, raw.Stdout)
	}
}

func TestRunPerCommandEnvWins(t *testing.T) {
	vm := sharedVM(t)
	vars := map[string]string{"BOOT_VAR": "per command", "ONLY_HERE": "x'y\nz"}
	for _, raw := range []bool{false, true} {
		opts := []RunOption{Env(vars)}
		if raw {
			opts = append(opts, Raw())
		}
		res := mustRun(t, vm, `printf '%s|%s' "$BOOT_VAR" "$ONLY_HERE"`, opts...)
		if want := "per command|x'y\nz"; string(res.Stdout) != want {
			t.Errorf("raw=%v: got %q, want %q", raw, res.Stdout, want)
		}
	}
	if _, err := vm.Run(ctxT(t, time.Minute), "true", Env(map[string]string{"BAD-KEY": "x"})); err == nil {
		t.Error("an invalid per-command key was accepted")
	}
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	vm := sharedVM(t)
	res, err := vm.Run(ctxT(t, 2*time.Minute), "echo started; sleep 1000; echo never", Timeout(3*time.Second))
	var te *CommandTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("Run = %v, %v; want a CommandTimeoutError", res, err)
	}
	if te.Result == nil || string(te.Result.Stdout) != "started\n" {
		t.Errorf("partial output = %+v, want stdout %q", te.Result, "started\n")
	}
	// The sleep must be gone: poll briefly, the kill is asynchronous.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps := mustRun(t, vm, "ps -o pid,args | grep '[s]leep 1000' || true", Raw())
		if len(strings.TrimSpace(string(ps.Stdout))) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sleep 1000 still running after the timeout:\n%s", ps.Stdout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRunConcurrent(t *testing.T) {
	vm := sharedVM(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := vm.Run(context.Background(), fmt.Sprintf("echo %d; exit %d", i, i%3))
			switch {
			case err != nil:
				errs <- err
			case string(res.Stdout) != fmt.Sprintf("%d\n", i) || res.ExitCode != i%3:
				errs <- fmt.Errorf("run %d: stdout %q exit %d", i, res.Stdout, res.ExitCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRunEmptyCommand(t *testing.T) {
	vm := sharedVM(t)
	if _, err := vm.Run(context.Background(), "  "); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty command: %v, want ErrInvalid", err)
	}
}

func TestRunEnvRefusedBeforeAnyIO(t *testing.T) {
	vm := sharedVM(t)
	ctx := ctxT(t, time.Minute)
	before := vm.sshStats().Sessions
	// len(prefix+"BIG=")+len(value)+NUL is one byte over the kernel's limit:
	// it would fit the env file, but not the copy a login run sends.
	big := strings.Repeat("x", 131072-len(ReservedEnvPrefix+"BIG=")-1+1)
	for name, vars := range map[string]map[string]string{
		"reserved prefix":            {ReservedEnvPrefix + "FOO": "x"},
		"bad key":                    {"A-B": "x"},
		"NUL value":                  {"A": "x\x00"},
		"too big for the login copy": {"BIG": big},
	} {
		if _, err := vm.Run(ctx, "true", Env(vars)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Run = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := vm.SetEnvVars(ctx, map[string]string{ReservedEnvPrefix + "X": "1"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetEnvVars with the reserved prefix = %v, want ErrInvalid", err)
	}
	if got := vm.sshStats().Sessions; got != before {
		t.Errorf("refused input opened %d sessions", got-before)
	}
	// Just under the limit still runs.
	ok := big[:len(big)-1]
	res := mustRun(t, vm, `printf %s "${#BIG}"`, Env(map[string]string{"BIG": ok}))
	if string(res.Stdout) != fmt.Sprint(len(ok)) {
		t.Errorf("a per-command value at the limit arrived as %q bytes", res.Stdout)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("reader went away") }

func TestRunStreamFailingWriterKillsCommand(t *testing.T) {
	vm := sharedVM(t)
	ctx := ctxT(t, 2*time.Minute)
	mustRun(t, vm, "rm -f /tmp/after", Raw())
	start := time.Now()
	_, err := vm.RunStream(ctx, "echo x; sleep 20; touch /tmp/after", failingWriter{}, nil)
	if err == nil || !strings.Contains(err.Error(), "reader went away") {
		t.Fatalf("RunStream with a failing writer = %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("RunStream returned after %v: it waited for the command", d)
	}
	res := mustRun(t, vm, "sleep 1; ps -o args | grep '[s]leep 20'; ls /tmp/after 2>/dev/null; true", Raw())
	if len(res.Stdout) != 0 {
		t.Errorf("the command kept running after its output failed:\n%s", res.Stdout)
	}
}

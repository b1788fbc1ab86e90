package smolvm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smolvm/smolvm/env"
)

// envMatrix is the list of values that must survive set, list and
// a login shell byte for byte.
var envMatrix = map[string]string{
	"M_IM":        "I'm",
	"M_QUOTE":     "'",
	"M_QUOTES2":   "''",
	"M_EMPTY":     "",
	"M_SPACE":     "a b",
	"M_EXPAND":    "$HOME $(touch /tmp/pwned) `touch /tmp/pwned2` !! #x",
	"M_STAR":      "*",
	"M_TILDE":     "~/x",
	"M_DASH_N":    "-n",
	"M_PRINTF":    "%s%d",
	"M_BACKSLASH": `C:\path\n`,
	"M_NEWLINE":   "a\nb",
	"M_TRAILING":  "abc\n\n",
	"M_CRLF":      "a\r\nb",
	"M_UNICODE":   "héllo 世界 🚀",
	"M_LSEP":      "a\u2028b\u0085c",
	"M_INJECT":    "x\nexport EVIL=1\n",
	"M_BIG":       strings.Repeat("0123456789abcdef'\"$\n", 100*1024/20),
}

// printVarsCmd prints each key's value followed by a record separator
// (0x1e, in no test value) so trailing newlines and empty values show.
func printVarsCmd(keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, `printf '%%s\036' "${%s-UNSET}"; `, k)
	}
	return b.String()
}

func expectedVars(keys []string, vars map[string]string) string {
	var b strings.Builder
	for _, k := range keys {
		v, ok := vars[k]
		if !ok {
			v = "UNSET"
		}
		b.WriteString(v + "\x1e")
	}
	return b.String()
}

func TestEnvMatrixRoundTrip(t *testing.T) {
	vm := sharedVM(t)
	ctx := ctxT(t, 5*time.Minute)
	mustRun(t, vm, "rm -f /tmp/pwned /tmp/pwned2", Raw())
	names, err := vm.SetEnvVars(ctx, envMatrix)
	if err != nil {
		t.Fatal(err)
	}
	for k := range envMatrix {
		if !slices.Contains(names, k) {
			t.Errorf("SetEnvVars names lack %s: %v", k, names)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("names not sorted: %v", names)
	}
	got, err := vm.ListEnvVars(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range envMatrix {
		if got[k] != want {
			t.Errorf("ListEnvVars[%s] = %q, want %q", k, trunc(got[k]), trunc(want))
		}
	}
	if _, ok := got["EVIL"]; ok {
		t.Error("a value smuggled a second variable EVIL into the file")
	}
	keys := slices.Sorted(maps.Keys(envMatrix))
	keys = append(keys, "EVIL")
	res := mustRun(t, vm, printVarsCmd(keys))
	if want := expectedVars(keys, envMatrix); string(res.Stdout) != want {
		t.Errorf("login shell printed values differ:\n got %q\nwant %q", trunc(string(res.Stdout)), trunc(want))
	}
	if ls := mustRun(t, vm, "ls /tmp/pwned /tmp/pwned2 2>/dev/null || true", Raw()); len(ls.Stdout) != 0 {
		t.Errorf("a value was executed: %s", ls.Stdout)
	}
	// A raw shell does not see them; a child of a login shell does; a
	// non-root user's login shell does.
	if res := mustRun(t, vm, `printf %s "${M_SPACE-UNSET}"`, Raw()); string(res.Stdout) != "UNSET" {
		t.Errorf("raw shell saw M_SPACE=%q", res.Stdout)
	}
	if res := mustRun(t, vm, `sh -c 'printf %s "$M_IM"'`); string(res.Stdout) != "I'm" {
		t.Errorf("child sh -c saw M_IM=%q", res.Stdout)
	}
	if res := mustRun(t, vm, `su -l user -c 'id -u; printf %s "$M_CRLF"'`, Raw()); string(res.Stdout) != "1000\na\r\nb" {
		t.Errorf("non-root login shell printed %q (exit %d, stderr %q)", res.Stdout, res.ExitCode, res.Stderr)
	}
	// Clean up, keeping the shared VM's boot variable.
	if _, err := vm.UnsetEnvVars(ctx, slices.Collect(maps.Keys(envMatrix))); err != nil {
		t.Fatal(err)
	}
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:200] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

// fileStamp identifies the env file's current version (inode, mtime, size).
func fileStamp(t *testing.T, vm *VM) string {
	t.Helper()
	return string(mustRun(t, vm, "stat -c '%i %Y %s' "+env.Path+" 2>&1; ls -a /etc/profile.d", Raw()).Stdout)
}

func TestEnvMergeReplaceUnset(t *testing.T) {
	vm := sharedVM(t)
	ctx := ctxT(t, 5*time.Minute)
	if _, err := vm.SetEnvVars(ctx, map[string]string{"MULTI": "line1\nline2\n", "KEEP": "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.SetEnvVars(ctx, map[string]string{"OTHER": "o"}); err != nil {
		t.Fatal(err)
	}
	got, err := vm.ListEnvVars(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got["MULTI"] != "line1\nline2\n" || got["KEEP"] != "k" || got["OTHER"] != "o" {
		t.Errorf("merge lost something: %q", got)
	}
	names, err := vm.SetEnvVars(ctx, map[string]string{"BOOT_VAR": "from boot", "ONLY": "1"}, Replace())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"BOOT_VAR", "ONLY"}) {
		t.Errorf("replace left %v", names)
	}
	before := fileStamp(t, vm)
	removed, err := vm.UnsetEnvVars(ctx, []string{"NOT_SET", "ALSO_NOT"})
	if err != nil || len(removed) != 0 {
		t.Fatalf("unset of missing keys: %v, %v", removed, err)
	}
	if after := fileStamp(t, vm); after != before {
		t.Errorf("unset of missing keys rewrote the file:\n%s\n%s", before, after)
	}
	removed, err = vm.UnsetEnvVars(ctx, []string{"ONLY", "NOT_SET"})
	if err != nil || !maps.Equal(removed, map[string]string{"ONLY": "1"}) {
		t.Errorf("unset = %v, %v; want ONLY -> 1", removed, err)
	}
	if empty, err := vm.UnsetEnvVars(ctx, nil); err != nil || len(empty) != 0 {
		t.Errorf("unset of nothing: %v, %v", empty, err)
	}
}

func TestEnvConcurrentMergesLoseNothing(t *testing.T) {
	vm := sharedVM(t)
	ctx := ctxT(t, 5*time.Minute)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := vm.SetEnvVars(ctx, map[string]string{fmt.Sprintf("CONC_%02d", i): fmt.Sprint(i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := vm.ListEnvVars(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range n {
		k := fmt.Sprintf("CONC_%02d", i)
		if got[k] != fmt.Sprint(i) {
			t.Errorf("%s = %q, want %d", k, got[k], i)
		}
		keys = append(keys, k)
	}
	if _, err := vm.UnsetEnvVars(ctx, keys); err != nil {
		t.Fatal(err)
	}
}

func TestEnvInvalidInputChangesNothing(t *testing.T) {
	vm := sharedVM(t)
	ctx := ctxT(t, 2*time.Minute)
	before := fileStamp(t, vm)
	sessions := vm.sshStats().Sessions
	for _, bad := range []map[string]string{
		{"FOO-BAR": "x"}, {"1A": "x"}, {"FOO\n": "x"}, {"A=B": "x"}, {"": "x"},
		{"OK": "nul\x00byte"}, {"OK": "\xff\xfe invalid utf-8"},
	} {
		_, err := vm.SetEnvVars(ctx, bad)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("SetEnvVars(%q) = %v, want ErrInvalid", slices.Collect(maps.Keys(bad)), err)
		}
	}
	if _, err := vm.UnsetEnvVars(ctx, []string{"GOOD", "BAD-KEY"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("UnsetEnvVars with an invalid key = %v, want ErrInvalid", err)
	}
	if got := vm.sshStats().Sessions; got != sessions {
		t.Errorf("invalid input opened %d SSH sessions, want none", got-sessions)
	}
	if after := fileStamp(t, vm); after != before {
		t.Errorf("the env file changed:\n%s\n%s", before, after)
	}
}

func TestEnvReadOnlyDirSetFailsListWorks(t *testing.T) {
	vm := sharedVM(t)
	ctx := ctxT(t, 2*time.Minute)
	if _, err := vm.SetEnvVars(ctx, map[string]string{"RO_OLD": "old"}); err != nil {
		t.Fatal(err)
	}
	before := mustRun(t, vm, "cat "+env.Path, Raw()).Stdout
	mustRun(t, vm, "mount --bind /etc/profile.d /etc/profile.d && mount -o remount,ro,bind /etc/profile.d", Raw())
	defer mustRun(t, vm, "umount /etc/profile.d", Raw())
	if _, err := vm.SetEnvVars(ctx, map[string]string{"RO_NEW": "new"}); err == nil {
		t.Error("SetEnvVars on a read-only /etc/profile.d succeeded")
	} else {
		t.Logf("expected failure: %v", err)
	}
	got, err := vm.ListEnvVars(ctx)
	if err != nil || got["RO_OLD"] != "old" {
		t.Errorf("ListEnvVars on a read-only dir = %q, %v", got, err)
	}
	after := mustRun(t, vm, "cat "+env.Path+"; ls -a /etc/profile.d", Raw()).Stdout
	if !strings.HasPrefix(string(after), string(before)) || strings.Contains(string(after[len(before):]), "tmp") {
		t.Errorf("file changed or temp file left:\n%s", after)
	}
	mustRun(t, vm, "umount /etc/profile.d", Raw())
	if _, err := vm.UnsetEnvVars(ctx, []string{"RO_OLD"}); err != nil {
		t.Errorf("unset after remount rw: %v", err)
	}
	mustRun(t, vm, "mount --bind /etc/profile.d /etc/profile.d", Raw()) // for the deferred umount
}

func TestEnvHostileIFS(t *testing.T) {
	vm := sharedVM(t)
	ctx := ctxT(t, 2*time.Minute)
	if _, err := vm.SetEnvVars(ctx, map[string]string{"IFS": "/", "PATH_X": "/a/b"}); err != nil {
		t.Fatal(err)
	}
	got, err := vm.ListEnvVars(ctx)
	if err != nil || got["IFS"] != "/" || got["PATH_X"] != "/a/b" {
		t.Fatalf("list with IFS=/ set: %q, %v", got, err)
	}
	removed, err := vm.UnsetEnvVars(ctx, []string{"IFS", "PATH_X"})
	if err != nil || len(removed) != 2 {
		t.Fatalf("unset with IFS=/ set: %v, %v", removed, err)
	}
	if res := mustRun(t, vm, "echo ok"); string(res.Stdout) != "ok\n" {
		t.Errorf("login shell after IFS cleanup: %q", res.Stdout)
	}
}

// sshStats reads the VM's SSH client counters (tests and benchmarks).
func (vm *VM) sshStats() struct{ Sessions uint64 } {
	c, err := vm.client(context.Background())
	if err != nil {
		return struct{ Sessions uint64 }{}
	}
	return struct{ Sessions uint64 }{c.Stats().Sessions}
}

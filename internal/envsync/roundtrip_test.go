package envsync

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nastyValues is the value matrix from the env contract; marker is a file
// the command substitution would create if a value were ever executed.
func nastyValues(marker string) map[string]string {
	return map[string]string{
		"V_APOS_WORD":   "I'm",
		"V_APOS":        "'",
		"V_TWO_APOS":    "''",
		"V_EMPTY":       "",
		"V_SPACE":       "a b",
		"V_EXPANSIONS":  "$HOME $(touch " + marker + ") `touch " + marker + "` `id` !! #x",
		"V_STAR":        "*",
		"V_TILDE":       "~/x",
		"V_DASH_N":      "-n",
		"V_PERCENT":     "%s%d",
		"V_BACKSLASH":   `C:\path\n`,
		"V_NEWLINE":     "a\nb",
		"V_TRAILING_NL": "abc\n\n",
		"V_CRLF":        "a\r\nb",
		"V_UNICODE":     "héllo 世界 🚀",
		"V_U2028":       "a\u2028b",
		"V_EVIL":        "x\nexport EVIL=1",
		"V_BIG":         strings.Repeat("0123456789abcdef", 100<<10/16),
	}
}

func TestRoundTripNastyValues(t *testing.T) {
	for _, s := range sandboxes(t) {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			marker := filepath.Join(s.scrap, "p")
			want := nastyValues(s.view(marker))
			sy := s.syncer(LockAuto)
			s.stats()

			start := time.Now()
			names, err := sy.Set(ctx, s, want, false)
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			t.Logf("set %d keys in %v", len(want), time.Since(start))
			s.logStats(t, "set")
			if wantNames := slices.Sorted(maps.Keys(want)); !slices.Equal(names, wantNames) {
				t.Errorf("Set names = %v, want %v", names, wantNames)
			}

			got, err := sy.List(ctx, s)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			s.logStats(t, "list")
			assertSameVars(t, "List", got, want)

			keys := append(slices.Sorted(maps.Keys(want)), "EVIL")
			for _, sh := range sourcingShells(t, s) {
				sourced := sh.source(t, keys)
				assertSameVars(t, "sourced by "+sh.name, sourced, want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("marker %s exists: a value was executed", marker)
			}
			fi, err := os.Stat(s.hostFile())
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
			}
			if l := leftovers(t, s); len(l) != 0 {
				t.Errorf("leftover files: %v", l)
			}
		})
	}
}

// sourcingShells returns the sandbox itself and, for host sandboxes, the
// other host shells: a file written under one shell must read back the
// same under every shell.
func sourcingShells(t *testing.T, s *sandbox) []*sandbox {
	t.Helper()
	if s.root != "" {
		return []*sandbox{s}
	}
	var out []*sandbox
	for _, sh := range hostShells {
		out = append(out, &sandbox{name: sh.name, shell: sh.argv, file: s.file})
	}
	return out
}

func assertSameVars(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: %s missing", what, k)
		case g != w:
			t.Errorf("%s: %s = %q (len %d), want %q (len %d)", what, k, short(g), len(g), short(w), len(w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected key %s", what, k)
		}
	}
}

func short(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func TestMergeReplaceUnset(t *testing.T) {
	for _, s := range sandboxes(t) {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			sy := s.syncer(LockAuto)
			s.stats()

			if _, err := sy.Set(ctx, s, map[string]string{"MULTI": "line1\nline2\n", "A": "1"}, false); err != nil {
				t.Fatal(err)
			}
			s.logStats(t, "set(new file)")
			names, err := sy.Set(ctx, s, map[string]string{"B": "2"}, false)
			if err != nil {
				t.Fatal(err)
			}
			s.logStats(t, "set(merge)")
			if want := []string{"A", "B", "MULTI"}; !slices.Equal(names, want) {
				t.Errorf("merge names = %v, want %v", names, want)
			}
			got, err := sy.List(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			assertSameVars(t, "after merge", got, map[string]string{"MULTI": "line1\nline2\n", "A": "1", "B": "2"})
			s.logStats(t, "list")

			names, err = sy.Set(ctx, s, map[string]string{"C": "3", "B": "two"}, true)
			if err != nil {
				t.Fatal(err)
			}
			s.logStats(t, "set(replace)")
			if want := []string{"B", "C"}; !slices.Equal(names, want) {
				t.Errorf("replace names = %v, want %v", names, want)
			}
			got, err = sy.List(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			s.logStats(t, "list")
			assertSameVars(t, "after replace", got, map[string]string{"B": "two", "C": "3"})

			before := statFile(t, s.hostFile())
			beforeBytes := readFile(t, s)
			time.Sleep(20 * time.Millisecond) // so a rewrite would show in mtime
			removed, err := sy.Unset(ctx, s, []string{"NOPE", "ALSO_NOPE"})
			if err != nil {
				t.Fatal(err)
			}
			s.logStats(t, "unset(missing keys)")
			if len(removed) != 0 {
				t.Errorf("removed = %v, want none", removed)
			}
			if _, err := sy.Set(ctx, s, map[string]string{"C": "3"}, false); err != nil {
				t.Fatal(err)
			}
			s.logStats(t, "set(no change)")
			after := statFile(t, s.hostFile())
			if before.Ino != after.Ino || before.Mtim != after.Mtim || before.Ctim != after.Ctim {
				t.Errorf("file rewritten by no-op updates: inode %d->%d mtime %v->%v", before.Ino, after.Ino, before.Mtim, after.Mtim)
			}
			if string(readFile(t, s)) != string(beforeBytes) {
				t.Errorf("file bytes changed by no-op updates")
			}

			removed, err = sy.Unset(ctx, s, []string{"B", "NOPE"})
			if err != nil {
				t.Fatal(err)
			}
			s.logStats(t, "unset")
			if want := map[string]string{"B": "two"}; !maps.Equal(removed, want) {
				t.Errorf("removed = %v, want %v", removed, want)
			}
			assertSameVars(t, "sourced after unset", s.source(t, []string{"B", "C"}), map[string]string{"C": "3"})
			if l := leftovers(t, s); len(l) != 0 {
				t.Errorf("leftover files: %v", l)
			}
		})
	}
}

func TestListMissingFile(t *testing.T) {
	for _, s := range sandboxes(t) {
		t.Run(s.name, func(t *testing.T) {
			got, err := s.syncer(LockAuto).List(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || len(got) != 0 {
				t.Errorf("List of a missing file = %#v, want an empty map", got)
			}
			removed, err := s.syncer(LockAuto).Unset(context.Background(), s, []string{"A"})
			if err != nil || len(removed) != 0 {
				t.Errorf("Unset on a missing file = %v, %v", removed, err)
			}
			if b := readFile(t, s); b != nil {
				t.Errorf("Unset created the file: %q", b)
			}
		})
	}
}

func statFile(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no syscall.Stat_t here")
	}
	return st
}

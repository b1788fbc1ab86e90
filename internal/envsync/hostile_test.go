package envsync

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hostileEnv is an environment for the guest shell in which a careless
// script breaks: field splitting on /, a PATH whose first directory holds
// fake tools, exported bash functions shadowing tools, shell options that
// make a script exit or refuse to overwrite, and values in the very names
// the script uses. evil is a directory of fakes, marker the file they and
// the functions would create.
func hostileEnv(evil, marker, sentinel string) []string {
	touch := "() { echo hijacked >" + marker + "; }"
	return []string{
		"PATH=" + evil + ":/usr/local/bin:/usr/bin:/bin",
		"IFS=/",
		"UID=12345",
		"HOME=/nonexistent",
		"ENV=" + evil + "/rc",
		"CDPATH=/",
		"LC_ALL=tr_TR.UTF-8",
		"LANG=tr_TR.UTF-8",
		"TMPDIR=/nonexistent",
		"SHELLOPTS=errexit:nounset:noclobber:noglob",
		"BASHOPTS=failglob:nullglob:dotglob:xpg_echo",
		"GLOBIGNORE=*",
		"BASH_FUNC_cat%%=" + touch,
		"BASH_FUNC_mv%%=" + touch,
		"BASH_FUNC_head%%=" + touch,
		"BASH_FUNC_printf%%=" + touch,
		"m=list", "f=/etc/passwd", "lm=bogus", "t=" + sentinel, "held=link",
		"d=/", "b=x", "h=-", "n=5", "c=junk", "st=1", "boot=x", "nap=99", "me=1::",
		"fl=" + sentinel, "lk=" + sentinel,
	}
}

// TestHostileEnvironment runs set, list and unset with hostileEnv and a
// umask of 077, then checks the results, the mode, and that nothing fake
// ran and no file named in a hostile variable was touched.
func TestHostileEnvironment(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	tools := []string{"cat", "head", "wc", "mv", "rm", "chmod", "dd", "sync", "flock", "ln", "readlink", "sleep", "kill", "sh"}
	for _, s := range sandboxes(t) {
		t.Run(s.name, func(t *testing.T) {
			evil := filepath.Join(s.scrap, "evil")
			if err := os.MkdirAll(evil, 0o755); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(s.scrap, "hijacked")
			sentinel := filepath.Join(s.scrap, "sentinel")
			if err := os.WriteFile(sentinel, []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			fake := "#!/bin/sh\necho hijacked >" + s.view(marker) + "\nexit 1\n"
			for _, tool := range append(tools, "rc") {
				if err := os.WriteFile(filepath.Join(evil, tool), []byte(fake), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			h := s.clone()
			h.env = hostileEnv(s.view(evil), s.view(marker), s.view(sentinel))
			ctx := testCtx(t)
			for _, lock := range lockModes(s) {
				sy := h.syncer(lock)
				// A dead writer's temp file: cleaning it up needs globbing,
				// which SHELLOPTS=noglob turns off in bash.
				stale := filepath.Join(s.hostDir(), ".smolvm_env.sh.tmp.999999")
				if err := os.WriteFile(stale, []byte("partial"), 0o600); err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"IFS": "/", "UID": "0", "PATH": "/nonexistent", "SHELLOPTS": "errexit", "MULTI": "a\nb\n"}
				if _, err := sy.Set(ctx, h, want, true); err != nil {
					t.Fatalf("Set (%v lock): %v", lock, err)
				}
				got, err := sy.List(ctx, h)
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				assertSameVars(t, "List", got, want)
				removed, err := sy.Unset(ctx, h, []string{"IFS", "NOPE"})
				if err != nil {
					t.Fatalf("Unset: %v", err)
				}
				if removed["IFS"] != "/" || len(removed) != 1 {
					t.Errorf("Unset removed %q", removed)
				}
				for _, at := range []int64{0, 4} { // no reply at all; a reply cut short
					cut := h.clone()
					cut.cut, cut.cutAt = true, at
					if _, err := sy.Set(ctx, cut, map[string]string{"X": strings.Repeat("x", 100)}, false); !errors.Is(err, ErrGuest) {
						t.Errorf("Set cut at %d: err = %v, want ErrGuest", at, err)
					}
				}
				delete(want, "IFS")
				got, err = sy.List(ctx, h)
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				assertSameVars(t, "after unset and a cut set", got, want)
			}
			fi, err := os.Stat(s.hostFile())
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("mode under umask 077 = %v, want 0644", fi.Mode().Perm())
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("a fake tool or exported function ran")
			}
			if b, err := os.ReadFile(sentinel); err != nil || string(b) != "keep" {
				t.Errorf("the file named in t/fl/lk was touched: %q, %v", b, err)
			}
			if l := leftovers(t, s); len(l) != 0 {
				t.Errorf("leftover files: %v", l)
			}
		})
	}
}

package envsync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// oldVars is what a failed update must leave in place.
var oldVars = map[string]string{"OLD": "old\nmulti-line value\n", "KEEP": "1"}

// checkUnchanged asserts that the env file still holds exactly before,
// that no temp file is left and that List still returns oldVars.
func checkUnchanged(t *testing.T, s *sandbox, sy *Syncer, before []byte) {
	t.Helper()
	if got := readFile(t, s); string(got) != string(before) {
		t.Errorf("env file changed by a failed update:\n got %q\nwant %q", short(string(got)), short(string(before)))
	}
	if l := leftovers(t, s); len(l) != 0 {
		t.Errorf("leftover files: %v", l)
	}
	got, err := sy.List(context.Background(), s)
	if err != nil {
		t.Fatalf("List after a failed update: %v", err)
	}
	assertSameVars(t, "List after a failed update", got, oldVars)
}

// TestUnwritableDirUnprivileged runs the guest side as nobody against a
// root-owned 0755 directory: updates fail, reads work.
func TestUnwritableDirUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to nobody")
	}
	for _, s := range sandboxes(t) {
		if s.root != "" {
			continue // chroot needs root; the read-only mount test covers it
		}
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			sy := s.syncer(LockAuto)
			if _, err := sy.Set(ctx, s, oldVars, false); err != nil {
				t.Fatal(err)
			}
			for d := s.hostDir(); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			before := readFile(t, s)
			nobody := s.clone()
			nobody.name += "-as-nobody"
			nobody.wrap = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
			for _, lock := range []LockMode{LockAuto, LockLink} {
				nsy := nobody.syncer(lock)
				_, err := nsy.Set(ctx, nobody, map[string]string{"NEW": "x"}, false)
				var ge *GuestError
				if !errors.As(err, &ge) {
					t.Fatalf("Set as nobody (%v lock): err = %v, want a *GuestError", lock, err)
				}
				t.Logf("Set as nobody (%v lock) failed as expected: %v", lock, err)
				_, err = nsy.Unset(ctx, nobody, []string{"OLD"})
				if !errors.Is(err, ErrGuest) {
					t.Fatalf("Unset as nobody: err = %v, want ErrGuest", err)
				}
				checkUnchanged(t, s, nobody.syncer(lock), before)
			}
		})
	}
}

// TestReadOnlyDir bind-mounts the directory read-only in a private mount
// namespace: updates fail, the file is untouched, List works.
func TestReadOnlyDir(t *testing.T) {
	if !inPrivateMountNS(t) {
		return
	}
	for _, s := range sandboxes(t) {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			sy := s.syncer(LockAuto)
			if _, err := sy.Set(ctx, s, oldVars, false); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, s)
			readOnlyBind(t, s.hostDir())
			_, err := sy.Set(ctx, s, map[string]string{"NEW": "x"}, false)
			if !errors.Is(err, ErrGuest) {
				t.Fatalf("Set on a read-only dir: err = %v, want ErrGuest", err)
			}
			t.Logf("Set failed as expected: %v", err)
			if _, err := sy.Set(ctx, s, map[string]string{"NEW": "x"}, true); !errors.Is(err, ErrGuest) {
				t.Fatalf("replace on a read-only dir: err = %v, want ErrGuest", err)
			}
			checkUnchanged(t, s, sy, before)
		})
	}
}

// TestDiskFull writes a 100 KiB value into a 64 KiB tmpfs: the temp file
// write fails half-way, the temp file is removed, the old file stays.
func TestDiskFull(t *testing.T) {
	if !inPrivateMountNS(t) {
		return
	}
	for _, s := range sandboxes(t) {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			mount(t, "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", s.hostDir())
			sy := s.syncer(LockAuto)
			if _, err := sy.Set(ctx, s, oldVars, false); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, s)
			_, err := sy.Set(ctx, s, map[string]string{"BIG": strings.Repeat("x", 100<<10)}, false)
			if !errors.Is(err, ErrGuest) {
				t.Fatalf("Set on a full disk: err = %v, want ErrGuest", err)
			}
			t.Logf("Set failed as expected: %v", err)
			checkUnchanged(t, s, sy, before)
		})
	}
}

// TestTruncatedStdin loses the connection part-way through the new file:
// the guest must commit nothing.
func TestTruncatedStdin(t *testing.T) {
	for _, s := range sandboxes(t) {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			sy := s.syncer(LockAuto)
			if _, err := sy.Set(ctx, s, oldVars, false); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, s)
			for _, cutAt := range []int64{0, 1, 3, 10, 500} {
				cut := s.clone()
				cut.cut, cut.cutAt = true, cutAt
				_, err := sy.Set(ctx, cut, map[string]string{"NEW": strings.Repeat("y", 1000)}, false)
				if !errors.Is(err, ErrGuest) {
					t.Fatalf("stdin cut at %d: err = %v, want ErrGuest", cutAt, err)
				}
				t.Logf("stdin cut at %d bytes: %v", cutAt, err)
				checkUnchanged(t, s, sy, before)
			}
		})
	}
}

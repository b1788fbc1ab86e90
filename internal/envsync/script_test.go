package envsync

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/env"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestCommandGolden pins the exact guest commands for the production
// path: a change to the guest side shows up as a reviewed diff.
func TestCommandGolden(t *testing.T) {
	tests := []struct {
		name string
		m    mode
		lock LockMode
	}{
		{"update_auto", modeUpdate, LockAuto},
		{"list_auto", modeList, LockAuto},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := command(tc.m, tc.lock, env.Path)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "command_"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("command differs from %s (run with -update after review)", golden)
			}
		})
	}
}

// TestCommandShape checks the promises about the command text: three
// assignments in front of the fixed script, nothing else variable.
func TestCommandShape(t *testing.T) {
	for _, p := range []string{env.Path, "/tmp/x y/profile.d/smolvm_env.sh", "/a/it's/e.sh"} {
		for _, m := range []mode{modeList, modeUpdate} {
			for _, lock := range []LockMode{LockAuto, LockFlock, LockLink} {
				got, err := command(m, lock, p)
				if err != nil {
					t.Fatalf("command(%s, %v, %q): %v", m, lock, p, err)
				}
				head := "m=" + string(m) + "\nlm=" + lock.String() + "\nf=" + env.Quote(p) + "\n"
				if got != head+guestScript {
					t.Errorf("command(%s, %v, %q) is not the three assignments plus the script", m, lock, p)
				}
			}
		}
	}
	if strings.Contains(guestScript, "`") {
		t.Error("the guest script uses backquotes")
	}
}

func TestLockModeString(t *testing.T) {
	for m, want := range map[LockMode]string{LockAuto: "auto", LockFlock: "flock", LockLink: "link", LockMode(9): "LockMode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(m), got, want)
		}
	}
}

package sshx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "sub", "id_ed25519")
	s1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if s1.PublicKey().Type() != "ssh-ed25519" {
		t.Errorf("key type %s", s1.PublicKey().Type())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %04o, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %04o, want 0700", di.Mode().Perm())
	}
	s2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if AuthorizedKey(s1) != AuthorizedKey(s2) {
		t.Error("second load returned another key")
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temp files left behind: %v", ents)
	}
	// OpenSSH reads the file too (smolvm ssh): it must be a valid OpenSSH key.
	if kg, err := exec.LookPath("ssh-keygen"); err == nil {
		out, err := exec.Command(kg, "-y", "-f", path).Output() //nolint:gosec // test
		if f := strings.Fields(string(out)); err != nil || len(f) < 2 || f[0]+" "+f[1] != AuthorizedKey(s1) {
			t.Errorf("ssh-keygen -y: %q %v, want %q", out, err, AuthorizedKey(s1))
		}
	}
}

func TestLoadOrCreateKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	if _, err := LoadOrCreateKey(open); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(open); err == nil || !strings.Contains(err.Error(), "0644") {
		t.Errorf("group/world-readable key: err %v, want a refusal naming the mode", err)
	}
	garbage := filepath.Join(dir, "garbage")
	mustWrite(t, garbage, "not a key")
	if _, err := LoadOrCreateKey(garbage); err == nil {
		t.Error("garbage key accepted")
	}
	if b, _ := os.ReadFile(garbage); string(b) != "not a key" {
		t.Error("a bad key file was overwritten")
	}
	if _, err := LoadOrCreateKey(filepath.Join(dir, "missing", "x")); err != nil && errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir not created: %v", err)
	}
}

// TestLoadOrCreateKeyConcurrent races goroutines in this process and
// several child processes on one path: all must end with the same key.
func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	if p := os.Getenv("SSHX_KEY_HELPER"); p != "" {
		s, err := LoadOrCreateKey(p)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(AuthorizedKey(s))
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "k", "id_ed25519")
	const procs, goroutines = 4, 8
	keys := make(chan string, procs+goroutines)
	var wg sync.WaitGroup
	for range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLoadOrCreateKeyConcurrent$") //nolint:gosec // the test binary
			cmd.Env = append(os.Environ(), "SSHX_KEY_HELPER="+path)
			out, err := cmd.Output()
			if err != nil {
				keys <- fmt.Sprintf("process failed: %v %s", err, out)
				return
			}
			keys <- strings.TrimSpace(string(out))
		})
	}
	for range goroutines {
		wg.Go(func() {
			s, err := LoadOrCreateKey(path)
			if err != nil {
				keys <- err.Error()
				return
			}
			keys <- AuthorizedKey(s)
		})
	}
	wg.Wait()
	close(keys)
	seen := map[string]int{}
	for k := range keys {
		seen[k]++
	}
	if len(seen) != 1 {
		t.Fatalf("callers got different keys: %v", seen)
	}
	for k := range seen {
		if !strings.HasPrefix(k, "ssh-ed25519 ") {
			t.Errorf("got %q", k)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temp files left behind: %v", ents)
	}
}

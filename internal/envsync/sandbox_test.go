package envsync

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smolvm/smolvm/env"
	"github.com/smolvm/smolvm/internal/testenv"
)

// sandbox is a real shell standing in for a guest: a Runner that runs the
// envsync command with `<shell> -c cmd` (optionally inside a busybox-only
// chroot, under setpriv, ...) against a temp directory that stands in for
// /etc/profile.d.
type sandbox struct {
	name   string
	shell  []string // argv before "-c": {"dash"}, {"chroot", root, "/bin/sh"}
	wrap   []string // optional argv in front of shell (setpriv, unshare)
	root   string   // host path of the chroot, "" when the shell runs on the host
	file   string   // env file path as the shell sees it
	scrap  string   // host path of a scratch directory the shell can see
	env    []string // the shell's environment; nil means minimalEnv
	onProc func(*exec.Cmd)
	// cut makes stdin pass only the first cutAt bytes to the shell and
	// drop the rest, as a connection lost mid-write would.
	cut   bool
	cutAt int64

	mu       sync.Mutex
	sessions int
	sent     int64
	received int64
	since    time.Time // when the counters were last reset
}

var minimalEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LC_ALL=C"}

// hostFile is the env file's path on the host.
func (s *sandbox) hostFile() string { return s.root + s.file }

// hostDir is the env file's directory on the host.
func (s *sandbox) hostDir() string { return filepath.Dir(s.hostFile()) }

// view maps a host path under the sandbox to the path the shell sees.
func (s *sandbox) view(hostPath string) string {
	if s.root == "" {
		return hostPath
	}
	return strings.TrimPrefix(hostPath, s.root)
}

func (s *sandbox) syncer(lock LockMode) *Syncer {
	return &Syncer{Path: s.file, Lock: lock}
}

// Start implements Runner with os/exec.
func (s *sandbox) Start(ctx context.Context, cmd string, stderr io.Writer) (*Process, error) {
	argv := append(append(append([]string{}, s.wrap...), s.shell...), "-c", cmd)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env = s.env
	if c.Env == nil {
		c.Env = minimalEnv
	}
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
	if s.onProc != nil {
		s.onProc(c)
	}
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	ci := &countWriter{w: in}
	if s.cut {
		ci.w = &cutWriter{w: in, left: s.cutAt}
	}
	co := &countReader{r: out}
	return &Process{Stdin: writeCloser{ci, in}, Stdout: co, Wait: func() error {
		err := c.Wait()
		s.mu.Lock()
		s.sent += ci.n
		s.received += co.n
		s.mu.Unlock()
		return err
	}}, nil
}

// cutWriter forwards the first left bytes and silently drops the rest.
type cutWriter struct {
	w    io.Writer
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	n := min(int64(len(p)), c.left)
	if n > 0 {
		if _, err := c.w.Write(p[:n]); err != nil {
			return 0, err
		}
		c.left -= n
	}
	return len(p), nil
}

// clone copies the sandbox's settings (not its counters).
func (s *sandbox) clone() *sandbox {
	return &sandbox{name: s.name, shell: s.shell, wrap: s.wrap, root: s.root, file: s.file,
		scrap: s.scrap, env: s.env, onProc: s.onProc, cut: s.cut, cutAt: s.cutAt}
}

type writeCloser struct {
	io.Writer
	io.Closer
}

// stats returns and resets the session and byte counters.
func (s *sandbox) stats() (sessions int, sent, received int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sessions, sent, received = s.sessions, s.sent, s.received
	s.sessions, s.sent, s.received = 0, 0, 0
	s.since = time.Now()
	return
}

// logStats reports (never asserts) what the last operation cost.
func (s *sandbox) logStats(t *testing.T, op string) {
	t.Helper()
	s.mu.Lock()
	since := s.since
	s.mu.Unlock()
	n, in, out := s.stats()
	took := "?"
	if !since.IsZero() {
		took = time.Since(since).Round(time.Millisecond).String()
	}
	t.Logf("%s/%s: %d session(s), %d bytes to the guest, %d bytes from the guest, %s (not a benchmark: shared CPU)", s.name, op, n, in, out, took)
}

// source runs a fresh shell of the sandbox's kind that sources the env
// file and prints each key's value; absent keys are missing from the map.
func (s *sandbox) source(t *testing.T, keys []string) map[string]string {
	t.Helper()
	var script strings.Builder
	fmt.Fprintf(&script, ". %s || exit 9\n", env.Quote(s.file))
	for _, k := range keys {
		fmt.Fprintf(&script, "printf '%%s%%s\\0' \"${%s+=}\" \"${%s-}\"\n", k, k)
	}
	argv := append(append([]string{}, s.shell...), "-c", script.String())
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = minimalEnv
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s: sourcing %s: %v: %s", s.name, s.hostFile(), err, stderr.String())
	}
	parts := strings.Split(string(out), "\x00")
	if len(parts) != len(keys)+1 || parts[len(keys)] != "" {
		t.Fatalf("%s: sourcing printed %d parts for %d keys", s.name, len(parts)-1, len(keys))
	}
	got := map[string]string{}
	for i, k := range keys {
		if v, ok := strings.CutPrefix(parts[i], "="); ok {
			got[k] = v
		}
	}
	return got
}

// hostShells are the shells the guest side must work with, each running
// on the host with the host's coreutils.
var hostShells = []struct {
	name string
	argv []string
}{
	{"dash", []string{"dash"}},
	{"bash", []string{"bash"}},
	{"bash-posix", []string{"bash", "--posix"}},
	{"busybox", []string{"busybox", "sh"}},
}

// sandboxes returns one fresh sandbox per shell: the four host shells and
// a busybox-only chroot (no coreutils, no flock: the smolvm image's
// userland) with /proc bind-mounted in a private mount namespace.
func sandboxes(t *testing.T) []*sandbox {
	t.Helper()
	var out []*sandbox
	for _, sh := range hostShells {
		testenv.RequireTool(t, sh.argv[0])
		dir := t.TempDir()
		pd := filepath.Join(dir, "profile.d")
		if err := os.Mkdir(pd, 0o755); err != nil {
			t.Fatal(err)
		}
		out = append(out, &sandbox{name: sh.name, shell: sh.argv, file: filepath.Join(pd, "smolvm_env.sh"), scrap: dir})
	}
	return append(out, busyboxChroot(t, true))
}

// busyboxChroot builds a root holding only static busybox and its applet
// links, /dev/null and /etc/profile.d, and returns a sandbox whose shell
// is its /bin/sh and whose env file is env.Path. With proc, every session
// runs in a private mount namespace with /proc bind-mounted.
func busyboxChroot(t *testing.T, proc bool) *sandbox {
	t.Helper()
	bb := testenv.RequireTool(t, "busybox")
	chroot := testenv.RequireTool(t, "chroot")
	root := t.TempDir()
	for _, d := range []string{"bin", "dev", "proc", "scratch", "tmp", env.Dir} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" {
			if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := exec.Command("mknod", "-m", "666", filepath.Join(root, "dev/null"), "c", "1", "3").CombinedOutput(); err != nil {
		t.Skipf("cannot make a chroot here (mknod: %v: %s)", err, out)
	}
	s := &sandbox{name: "busybox-chroot", shell: []string{chroot, root, "/bin/sh"}, root: root,
		file: env.Path, scrap: filepath.Join(root, "scratch")}
	if proc {
		unshare := testenv.RequireTool(t, "unshare")
		s.name += "+proc"
		s.wrap = []string{unshare, "-m", "sh", "-c", `mount --bind /proc "$1/proc" && shift && exec "$@"`, "sh", root}
		if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
			t.Skipf("no private mount namespace here (unshare -m: %v: %s)", err, out)
		}
	}
	return s
}

// readFile returns the env file's bytes on the host, or nil when missing.
func readFile(t *testing.T, s *sandbox) []byte {
	t.Helper()
	b, err := os.ReadFile(s.hostFile())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}

// leftovers lists the names in the env file's directory other than the
// env file itself and the lock files.
func leftovers(t *testing.T, s *sandbox) []string {
	t.Helper()
	ents, err := os.ReadDir(s.hostDir())
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(s.file)
	var out []string
	for _, e := range ents {
		switch e.Name() {
		case base, "." + base + ".flock":
		default:
			out = append(out, e.Name())
		}
	}
	return out
}

// neverRunner fails the test when any session is started.
type neverRunner struct {
	t     *testing.T
	calls atomic.Int32
}

func (n *neverRunner) Start(context.Context, string, io.Writer) (*Process, error) {
	n.calls.Add(1)
	n.t.Errorf("Runner.Start called")
	return nil, fmt.Errorf("no session allowed")
}

package envsync

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/testenv"
)

const privNSVar = "SMOLVM_ENVSYNC_TEST_PRIVATE_NS"

// inPrivateMountNS reports whether the calling top-level test runs in a
// private mount namespace, where it may mount freely. Called outside one,
// it reruns just that test in `unshare -m` (the mounts vanish with the
// namespace), reports the child's result, and returns false: the caller
// then returns at once.
func inPrivateMountNS(t *testing.T) bool {
	t.Helper()
	if os.Getenv(privNSVar) == t.Name() {
		return true
	}
	unshare := testenv.RequireTool(t, "unshare")
	if out, err := exec.Command(unshare, "-m", "true").CombinedOutput(); err != nil {
		t.Skipf("no private mount namespace here (unshare -m: %v: %s)", err, out)
	}
	args := []string{"-m", "--propagation", "private", os.Args[0], "-test.run", "^" + t.Name() + "$", "-test.v", "-test.count=1"}
	c := exec.Command(unshare, args...)
	c.Env = append(os.Environ(), privNSVar+"="+t.Name())
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		t.Log("ns| " + line)
	}
	if err != nil {
		t.Fatalf("test in private mount namespace: %v", err)
	}
	if !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("test in private mount namespace did not pass")
	}
	return false
}

// mount runs mount(8) with args, whose last one is the mount point, and
// unmounts it when the test ends (before its temp dirs are removed).
func mount(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Fatalf("mount %v: %v: %s", args, err, out)
	}
	target := args[len(args)-1]
	t.Cleanup(func() {
		if out, err := exec.Command("umount", target).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", target, err, out)
		}
	})
}

// readOnlyBind makes dir read-only with a bind mount onto itself.
func readOnlyBind(t *testing.T, dir string) {
	t.Helper()
	mount(t, "--bind", dir, dir)
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s read-only: %v: %s", dir, err, out)
	}
}

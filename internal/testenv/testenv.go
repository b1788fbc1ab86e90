// Package testenv decides which test tiers run here. A test that needs
// something the host lacks skips with the reason, unless CI required that
// tier (SMOLVM_REQUIRE_VM=1, SMOLVM_REQUIRE_SHELLS=1), in which case it
// fails: a CI run can never pass with its real-VM tests silently skipped.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireVM skips (or fails, under SMOLVM_REQUIRE_VM=1) unless real VMs
// can be booted here: qemu-system-x86_64, qemu-img and mke2fs present, and
// SMOLVM_SKIP_VM unset. It also skips under -short.
func RequireVM(t testing.TB) {
	t.Helper()
	if os.Getenv("SMOLVM_SKIP_VM") != "" {
		unavailable(t, "SMOLVM_REQUIRE_VM", "SMOLVM_SKIP_VM is set")
	}
	if testing.Short() {
		unavailable(t, "SMOLVM_REQUIRE_VM", "-short given")
	}
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img", "mke2fs"} {
		if _, err := exec.LookPath(bin); err != nil {
			unavailable(t, "SMOLVM_REQUIRE_VM", bin+" not found (run `make setup`)")
		}
	}
}

// RequireTool skips (or fails, under SMOLVM_REQUIRE_SHELLS=1) unless the
// named program is on PATH, and returns its path.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, "SMOLVM_REQUIRE_SHELLS", name+" not found (run `make setup`)")
	}
	return p
}

func unavailable(t testing.TB, requireVar, why string) {
	t.Helper()
	if os.Getenv(requireVar) != "" {
		t.Fatalf("%s=1 but this test cannot run: %s", requireVar, why)
	}
	t.Skip(why)
}

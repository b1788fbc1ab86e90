package guest

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SizeBudget is the most the stripped agent binary may weigh: it is
// copied into every initrd (RAM until switch_root frees it) and rootfs.
// Today it is about 5.1 MiB: x/crypto/ssh, pkg/sftp, creack/pty and
// x/sys, no netlink library, no cgo.
const SizeBudget = 8 << 20

// TestAgentBuildBudget builds ./cmd/smolvm-agent exactly as the Makefile
// and the image builder do and checks it is static and within budget.
func TestAgentBuildBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent (-short)")
	}
	out := filepath.Join(t.TempDir(), "smolvm-agent")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "../../cmd/smolvm-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("smolvm-agent: %d bytes (%.2f MiB), budget %d MiB", fi.Size(), float64(fi.Size())/(1<<20), SizeBudget>>20)
	if fi.Size() > SizeBudget {
		t.Errorf("agent is %d bytes, over the %d byte budget", fi.Size(), SizeBudget)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("agent is dynamically linked (%v): it must run from an initrd with no libc", p.Type)
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("agent not stripped (-s -w missing)")
	}
}

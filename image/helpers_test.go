package image

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/smolvm/smolvm/internal/paths"
)

// The Debian kernel is fetched once into the default debs dir (shared by
// test runs) and extracted once per test process.
var (
	kernelOnce    sync.Once
	kernelDebPath string
	kernelRoot    string
	kernelErr     error
	tmpRoot       string
)

func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "smolvm-image-test-")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// debianKernel returns the cloud kernel .deb and its extracted tree
// (kernel file, modules dir). It skips when apt is not available.
func debianKernel(t testing.TB) (deb, kernel, modulesDir string) {
	t.Helper()
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the Debian kernel cannot be fetched", tool)
		}
	}
	kernelOnce.Do(func() {
		d, err := paths.Default()
		if err != nil {
			kernelErr = err
			return
		}
		ctx := context.Background()
		b := NewBuilder()
		ks, err := b.resolveKernel(ctx, &memo{path: filepath.Join(tmpRoot, "memo.json")})
		if err != nil {
			kernelErr = err
			return
		}
		kernelDebPath, _, kernelErr = aptDownload(ctx, d.Debs(), *ks.pkg)
		if kernelErr != nil {
			return
		}
		kernelRoot = filepath.Join(tmpRoot, "kernel")
		_, kernelErr = runTool(ctx, "", "dpkg-deb", "-x", kernelDebPath, kernelRoot)
	})
	if kernelErr != nil {
		t.Fatalf("fetch Debian kernel: %v", kernelErr)
	}
	k, mdir, err := findKernel(kernelRoot)
	if err != nil {
		t.Fatal(err)
	}
	return kernelDebPath, k, mdir
}

// staticBinary returns a static executable to stand in for the agent.
func staticBinary(t testing.TB) string {
	t.Helper()
	for _, p := range hostBusyboxes {
		if ok, err := isStatic(p); err == nil && ok {
			return p
		}
	}
	t.Skip("no static busybox on this host to stand in for the agent")
	return ""
}

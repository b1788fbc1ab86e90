package image

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/paths"
)

// TestFetchBusybox exercises the fallback for hosts without a static
// busybox: busybox-static from the distribution, extracted once.
func TestFetchBusybox(t *testing.T) {
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	d, err := paths.Default()
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	m := &memo{path: filepath.Join(cache, "memo.json")}
	b := NewBuilder(WithDebsDir(d.Debs()))
	ctx := context.Background()
	p, err := b.fetchBusybox(ctx, m, cache)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := isStatic(p); err != nil || !ok {
		t.Fatalf("%s not static: %v", p, err)
	}
	out, _ := runToolOutput(ctx, p)
	v, err := parseBusyboxVersion(out)
	if err != nil || !strings.HasPrefix(v, "1.") {
		t.Fatalf("version %q, %v", v, err)
	}
	again, err := b.fetchBusybox(ctx, m, cache)
	if err != nil || again != p {
		t.Fatalf("second fetch %s, %v; want %s", again, err, p)
	}
	bb, err := NewBuilder(WithBusybox(p)).resolveBusybox(ctx, m, cache)
	if err != nil || bb.Version != v || bb.Path != p {
		t.Fatalf("resolveBusybox with the fetched binary: %+v, %v", bb, err)
	}
	t.Logf("busybox-static %s at %s", v, p)
}

package image

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/paths"
)

// TestBuildFromPackage runs the default kernel path: apt-cache resolution,
// the .deb from the shared debs dir (apt-get download on first use),
// dpkg-deb extraction; then a second build must be a cache hit that runs
// no apt-cache, no extraction and no mke2fs.
func TestBuildFromPackage(t *testing.T) {
	debianKernel(t) // skips without apt; fetches the deb into the shared dir
	d, err := paths.Default()
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	var events []Event
	b := NewBuilder(WithCacheDir(cache), WithDebsDir(d.Debs()), WithAgent(staticBinary(t)),
		WithProgress(func(e Event) { events = append(events, e) }))
	img, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range events {
		if len(steps) == 0 || steps[len(steps)-1] != string(e.Step) {
			steps = append(steps, string(e.Step))
		}
	}
	if got := strings.Join(steps, " "); got != "resolve-kernel download extract modules initrd rootfs done" {
		t.Errorf("steps %q", got)
	}
	if !strings.HasPrefix(img.KernelPackage, "linux-image-") || !strings.Contains(img.KernelPackage, "=") {
		t.Errorf("kernel package %q", img.KernelPackage)
	}
	if !strings.Contains(img.KernelPackage, img.KernelVersion) {
		t.Errorf("kernel package %q does not match kernel version %q", img.KernelPackage, img.KernelVersion)
	}

	events = nil
	start := time.Now()
	again, err := b.Build(context.Background())
	elapsed := time.Since(start)
	if err != nil || again.Fingerprint != img.Fingerprint {
		t.Fatalf("second build: %v (%s vs %s)", err, again.Fingerprint, img.Fingerprint)
	}
	for _, e := range events {
		if e.Step != StepDone && !e.Cached {
			t.Errorf("cache hit did work: %+v", e)
		}
	}
	t.Logf("cache hit (package path) took %v", elapsed)
}

// TestBuildFromDebFile uses a user-given kernel .deb: no apt-cache, no
// download, the package extracted and its kernel copied verbatim.
func TestBuildFromDebFile(t *testing.T) {
	deb, kernel, _ := debianKernel(t)
	var steps []string
	b := NewBuilder(WithCacheDir(t.TempDir()), WithKernelDeb(deb), WithAgent(staticBinary(t)),
		WithProgress(func(e Event) {
			if len(steps) == 0 || steps[len(steps)-1] != string(e.Step) {
				steps = append(steps, string(e.Step))
			}
		}))
	img, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(steps, " "); got != "resolve-kernel extract modules initrd rootfs done" {
		t.Errorf("steps %q", got)
	}
	if img.KernelPackage != "" || !strings.HasSuffix(kernel, "vmlinuz-"+img.KernelVersion) {
		t.Errorf("kernel package %q version %q (kernel %s)", img.KernelPackage, img.KernelVersion, kernel)
	}
	if sha256File(t, img.Kernel) != sha256File(t, kernel) {
		t.Error("image kernel differs from the package's vmlinuz")
	}
	if len(img.Modules) < len(DefaultModules) {
		t.Errorf("modules %v", img.Modules)
	}
	start := time.Now() // the deb's sha256 comes from the memo now
	again, err := b.Build(context.Background())
	if err != nil || again.Fingerprint != img.Fingerprint {
		t.Fatalf("second build: %v", err)
	}
	t.Logf("cache hit (kernel .deb) took %v", time.Since(start))
}

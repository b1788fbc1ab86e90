package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFingerprint(t *testing.T) {
	base := func() (*Builder, inputs) {
		return NewBuilder(), inputs{
			kernel:  kernelSource{identity: []string{"kernel-package linux-image-6.1.0-57-cloud-amd64 6.1.192-3 amd64"}},
			busybox: busyboxSource{SHA256: "bb", Version: "1.35.0"},
			agentSH: "agent",
		}
	}
	b, in := base()
	ref := fingerprint(b.fingerprintLines(in))
	if b2, in2 := base(); fingerprint(b2.fingerprintLines(in2)) != ref {
		t.Fatal("same inputs, different fingerprint")
	}
	if len(ref) != 64 {
		t.Fatalf("fingerprint %q is not hex sha256", ref)
	}
	cases := []struct {
		name   string
		mutate func(*Builder, *inputs)
	}{
		{"kernel version", func(_ *Builder, in *inputs) {
			in.kernel.identity = []string{"kernel-package linux-image-6.1.0-57-cloud-amd64 6.1.192-4 amd64"}
		}},
		{"kernel source kind", func(_ *Builder, in *inputs) { in.kernel.identity = []string{"kernel-deb x"} }},
		{"busybox hash", func(_ *Builder, in *inputs) { in.busybox.SHA256 = "bb2" }},
		{"busybox version", func(_ *Builder, in *inputs) { in.busybox.Version = "1.36.0" }},
		{"agent", func(_ *Builder, in *inputs) { in.agentSH = "agent2" }},
		{"module list", func(b *Builder, _ *inputs) { b.modules = []string{"virtio_blk"} }},
		{"module order", func(b *Builder, _ *inputs) { b.modules = append([]string{"vsock"}, DefaultModules...) }},
		{"rootfs size", func(b *Builder, _ *inputs) { b.rootfsMiB = 1024 }},
		{"line boundary", func(_ *Builder, in *inputs) {
			in.kernel.identity = []string{"kernel-package linux-image-6.1.0-57-cloud-amd64", "6.1.192-3 amd64"}
		}},
	}
	seen := map[string]string{ref: "base"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, in := base()
			c.mutate(b, &in)
			fp := fingerprint(b.fingerprintLines(in))
			if other, dup := seen[fp]; dup {
				t.Fatalf("fingerprint equals the %s case's", other)
			}
			seen[fp] = c.name
		})
	}
	t.Run("format version", func(t *testing.T) {
		if lines := b.fingerprintLines(in); lines[0] != formatVersion {
			t.Fatalf("first line %q", lines[0])
		}
	})
	t.Run("logger and progress excluded", func(t *testing.T) {
		b2 := NewBuilder(WithProgress(func(Event) {}), WithCacheDir("/elsewhere"))
		if fingerprint(b2.fingerprintLines(in)) != ref {
			t.Fatal("options that do not change the image changed the fingerprint")
		}
	})
}

// TestFingerprintFollowsInputs checks the end-to-end wiring: a different
// agent file or rootfs size gives another image name.
func TestFingerprintFollowsInputs(t *testing.T) {
	cache := t.TempDir()
	b, _ := testBuilder(t, cache)
	ctx := context.Background()
	in, err := resolveAll(ctx, b, cache)
	if err != nil {
		t.Fatal(err)
	}
	ref := fingerprint(b.fingerprintLines(in))
	agent2 := filepath.Join(t.TempDir(), "agent")
	if err := copyFile(staticBinary(t), agent2, 0o755); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(agent2, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.Write([]byte("x"))
	f.Close()
	for name, opt := range map[string]Option{"agent content": WithAgent(agent2), "rootfs size": WithRootfsMiB(256)} {
		b2, _ := testBuilder(t, cache, opt)
		in2, err := resolveAll(ctx, b2, cache)
		if err != nil {
			t.Fatal(err)
		}
		if fingerprint(b2.fingerprintLines(in2)) == ref {
			t.Errorf("%s changed but the fingerprint did not", name)
		}
	}
}

func resolveAll(ctx context.Context, b *Builder, cache string) (inputs, error) {
	m := &memo{path: filepath.Join(cache, "memo.json")}
	var in inputs
	var err error
	if in.kernel, err = b.resolveKernel(ctx, m); err != nil {
		return in, err
	}
	if in.busybox, err = b.resolveBusybox(ctx, m, cache); err != nil {
		return in, err
	}
	if in.agent, err = b.resolveAgent(ctx, filepath.Join(cache, "agent")); err != nil {
		return in, err
	}
	in.agentSH, err = m.fileSHA256(in.agent)
	return in, err
}

// TestConcurrentBuilds races several builders on one empty cache: all must
// succeed with the same image, and the cache must hold exactly that image.
func TestConcurrentBuilds(t *testing.T) {
	cache := t.TempDir()
	const n = 3
	imgs := make([]Image, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		b, _ := testBuilder(t, cache)
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], errs[i] = b.Build(context.Background())
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("builder %d: %v", i, errs[i])
		}
		if imgs[i].Fingerprint != imgs[0].Fingerprint || imgs[i].Dir != imgs[0].Dir {
			t.Fatalf("builder %d got %s, builder 0 %s", i, imgs[i].Dir, imgs[0].Dir)
		}
	}
	ents, err := os.ReadDir(filepath.Join(cache, "images"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != imgs[0].Name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("images dir holds %v, want only %s (no temp dirs left)", names, imgs[0].Name)
	}
	won, err := readManifest(imgs[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{won.Kernel, won.Initrd, won.Rootfs} {
		if fileSize(f) == 0 {
			t.Errorf("%s empty or missing", f)
		}
	}
	if out, err := runToolOutput(context.Background(), "e2fsck", "-fn", won.Rootfs); err != nil {
		t.Errorf("winner's rootfs damaged: %v\n%s", err, out)
	}
	// The initrd is reproducible: every racer wrote the same bytes, so
	// whichever won, a fresh build elsewhere gives the same file.
	other := t.TempDir()
	b, _ := testBuilder(t, other)
	img2, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sha256File(t, img2.Initrd) != sha256File(t, won.Initrd) {
		t.Error("two builds of the same inputs gave different initrd bytes")
	}
}

func TestListRemove(t *testing.T) {
	cache := t.TempDir()
	if imgs, err := List(cache); err != nil || len(imgs) != 0 {
		t.Fatalf("empty cache: %v %v", imgs, err)
	}
	b, _ := testBuilder(t, cache)
	img, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A build in progress and a damaged entry are not listed.
	if err := os.MkdirAll(filepath.Join(cache, "images", ".build-x-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(cache, "images", "damaged"), 0o755); err != nil {
		t.Fatal(err)
	}
	imgs, err := List(cache)
	if err != nil || len(imgs) != 1 || imgs[0].Fingerprint != img.Fingerprint || imgs[0].Rootfs != img.Rootfs {
		t.Fatalf("List = %+v, %v", imgs, err)
	}
	cases := []struct {
		name string
		arg  string
		err  error
	}{
		{"unknown", "0123456789abcdef", ErrNotFound},
		{"path", "../images", ErrInvalid},
		{"hidden", ".build-x-1", ErrInvalid},
		{"empty", "", ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Remove(cache, c.arg); !errors.Is(err, c.err) {
				t.Fatalf("Remove(%q) = %v, want %v", c.arg, err, c.err)
			}
		})
	}
	if err := Remove(cache, img.Fingerprint); err != nil {
		t.Fatalf("Remove by fingerprint: %v", err)
	}
	if _, err := os.Stat(img.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("image dir still there: %v", err)
	}
	if err := Remove(cache, img.Name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove = %v, want ErrNotFound", err)
	}
	ents, _ := os.ReadDir(filepath.Join(cache, "images"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".remove-") {
			t.Errorf("left %s behind", e.Name())
		}
	}
}

func TestValidation(t *testing.T) {
	cache := t.TempDir()
	cases := []struct {
		name  string
		opts  []Option
		field string
	}{
		{"rootfs too small", []Option{WithRootfsMiB(8)}, "rootfs size"},
		{"no modules", []Option{WithModules()}, "modules"},
		{"kernel without modules", []Option{WithKernel("/nonexistent/vmlinuz", "")}, "kernel"},
		{"dynamic agent", []Option{WithAgent("/bin/ls")}, "agent"},
		{"missing agent", []Option{WithAgent(filepath.Join(cache, "nope"))}, "agent"},
		{"dynamic busybox", []Option{WithBusybox("/bin/ls")}, "busybox"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := testBuilder(t, cache, c.opts...)
			_, err := b.Build(context.Background())
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("Build = %v, want ErrInvalid naming %q", err, c.field)
			}
		})
	}
}

func TestSweepStale(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	mk := func(name string, age time.Duration) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "work"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	mk(".build-old-1", 2*staleAge)
	mk(".remove-old", 2*staleAge)
	mk(".build-fresh-1", time.Minute)
	mk("0123456789abcdef", 10*staleAge) // an image, however old, stays
	sweepStale(dir, staleAge, now)
	var left []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, " "); got != ".build-fresh-1 0123456789abcdef" {
		t.Fatalf("left %q", got)
	}
}

package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smolvm/smolvm/internal/paths"
)

// formatVersion changes whenever the image layout changes, so old cache
// entries are not reused.
const formatVersion = "smolvm-image 1"

// Default builds (or finds in the cache) the default image: the Debian
// cloud kernel, busybox and the smolvm agent. It is NewBuilder(opts...).Build.
func Default(ctx context.Context, opts ...Option) (Image, error) {
	return NewBuilder(opts...).Build(ctx)
}

// inputs is everything an image is made from.
type inputs struct {
	kernel  kernelSource
	busybox busyboxSource
	agent   string
	agentSH string
}

// fingerprint hashes every input into one hex string: the same inputs give
// the same fingerprint, any change gives another.
func fingerprint(lines []string) string {
	h := sha256.New()
	for _, l := range lines {
		_, _ = fmt.Fprintf(h, "%d:%s\n", len(l), l)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (b *Builder) fingerprintLines(in inputs) []string {
	lines := []string{formatVersion}
	lines = append(lines, in.kernel.identity...)
	lines = append(lines,
		"modules "+strings.Join(b.modules, ","),
		"busybox "+in.busybox.SHA256+" "+in.busybox.Version,
		"agent "+in.agentSH,
		"rootfs-mib "+strconv.Itoa(b.rootfsMiB),
	)
	return lines
}

func (b *Builder) cacheRoot() (string, error) {
	if b.cacheDir != "" {
		return filepath.Abs(b.cacheDir)
	}
	d, err := paths.Default()
	if err != nil {
		return "", err
	}
	return d.Cache, nil
}

// Build returns the image for the builder's inputs, from the cache when an
// image with the same fingerprint exists, otherwise building it in a temp
// dir under images/ and renaming it into place. When several builders race,
// each succeeds and all return the image that won the rename.
func (b *Builder) Build(ctx context.Context) (Image, error) {
	if b.rootfsMiB < 64 || b.rootfsMiB > 1<<20 {
		return Image{}, fmt.Errorf("%w: rootfs size %d MiB (want 64..1048576)", ErrInvalid, b.rootfsMiB)
	}
	if len(b.modules) == 0 {
		return Image{}, fmt.Errorf("%w: modules: empty list", ErrInvalid)
	}
	root, err := b.cacheRoot()
	if err != nil {
		return Image{}, err
	}
	dirs := paths.Dirs{Cache: root}
	m := &memo{path: filepath.Join(root, "memo.json")}
	start := time.Now()

	var in inputs
	if in.kernel, err = b.resolveKernel(ctx, m); err != nil {
		return Image{}, fmt.Errorf("resolve kernel: %w", err)
	}
	if in.busybox, err = b.resolveBusybox(ctx, m, root); err != nil {
		return Image{}, fmt.Errorf("resolve busybox: %w", err)
	}
	if in.agent, err = b.resolveAgent(ctx, dirs.Agent()); err != nil {
		return Image{}, fmt.Errorf("resolve agent: %w", err)
	}
	if in.agentSH, err = m.fileSHA256(in.agent); err != nil {
		return Image{}, fmt.Errorf("hash agent: %w", err)
	}
	fp := fingerprint(b.fingerprintLines(in))
	name := fp[:16]
	final := filepath.Join(dirs.Images(), name)
	if img, err := readManifest(final); err == nil && img.Fingerprint == fp {
		b.log.Debug("image cache hit", "name", name, "elapsed", time.Since(start))
		b.emit(Event{Step: StepDone, Detail: name, Bytes: img.Size, Cached: true})
		return img, nil
	}
	b.log.Info("building image", "name", name)
	if err := os.MkdirAll(dirs.Images(), 0o755); err != nil {
		return Image{}, err
	}
	sweepStale(dirs.Images(), staleAge, time.Now())
	tmp, err := os.MkdirTemp(dirs.Images(), ".build-"+name+"-")
	if err != nil {
		return Image{}, err
	}
	defer func() { _ = os.RemoveAll(tmp) }() // after a successful rename, tmp no longer exists
	img, err := b.assemble(ctx, in, dirs, tmp)
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", name, err)
	}
	img.Name, img.Fingerprint = name, fp
	if err := writeManifest(tmp, img); err != nil {
		return Image{}, err
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another builder won the race; use its image if it is complete.
		won, rerr := readManifest(final)
		if rerr != nil || won.Fingerprint != fp {
			return Image{}, fmt.Errorf("install image %s: %w", name, err)
		}
		b.emit(Event{Step: StepDone, Detail: name, Bytes: won.Size, Cached: true})
		return won, nil
	}
	img, err = readManifest(final)
	if err != nil {
		return Image{}, err
	}
	b.log.Info("image built", "name", name, "elapsed", time.Since(start))
	b.emit(Event{Step: StepDone, Detail: name, Bytes: img.Size})
	return img, nil
}

// assemble builds kernel, initrd and rootfs into dir.
func (b *Builder) assemble(ctx context.Context, in inputs, dirs paths.Dirs, dir string) (Image, error) {
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		return Image{}, err
	}
	kernel, modulesDir, err := b.materializeKernel(ctx, in.kernel, b.debsDir(dirs), work)
	if err != nil {
		return Image{}, err
	}
	kver := filepath.Base(modulesDir)
	mods, err := resolveModules(modulesDir, b.modules)
	if err != nil {
		return Image{}, err
	}
	b.emit(Event{Step: StepModules, Detail: fmt.Sprintf("%d modules for %s", len(mods), kver)})
	if err := ctx.Err(); err != nil {
		return Image{}, err
	}
	if err := copyFile(kernel, filepath.Join(dir, KernelFile), 0o644); err != nil {
		return Image{}, err
	}
	agent, err := os.ReadFile(in.agent)
	if err != nil {
		return Image{}, err
	}
	entries, list := initrdEntries(agent, kver, mods)
	initrd := filepath.Join(dir, InitrdFile)
	if err := writeInitrd(initrd, entries); err != nil {
		return Image{}, err
	}
	b.emit(Event{Step: StepInitrd, Detail: InitrdFile, Bytes: fileSize(initrd)})
	if err := ctx.Err(); err != nil {
		return Image{}, err
	}

	out, err := runToolOutput(ctx, in.busybox.Path, "--list-full")
	if err != nil {
		return Image{}, fmt.Errorf("%w: busybox --list-full: %w", ErrTool, err)
	}
	applets, err := parseApplets(out)
	if err != nil {
		return Image{}, err
	}
	staged := filepath.Join(work, "root")
	owners, err := stageRootfs(staged, in.busybox.Path, in.agent, applets)
	if err != nil {
		return Image{}, fmt.Errorf("stage rootfs: %w", err)
	}
	rootfs := filepath.Join(dir, RootfsFile)
	if err := makeExt4(ctx, rootfs, staged, b.rootfsMiB, owners); err != nil {
		return Image{}, fmt.Errorf("rootfs: %w", err)
	}
	b.emit(Event{Step: StepRootfs, Detail: RootfsFile, Bytes: fileSize(rootfs)})
	if err := os.RemoveAll(work); err != nil {
		return Image{}, err
	}
	img := Image{
		KernelVersion:  kver,
		BusyboxVersion: in.busybox.Version,
		AgentSHA256:    in.agentSH,
		Modules:        list,
		Created:        time.Now().UTC().Truncate(time.Second),
	}
	if in.kernel.pkg != nil {
		img.KernelPackage = in.kernel.pkg.Name + "=" + in.kernel.pkg.Version
	}
	return img, nil
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// writeManifest records img in dir/manifest.json with the allocated size.
func writeManifest(dir string, img Image) error {
	img.Size = 0
	for _, f := range []string{KernelFile, InitrdFile, RootfsFile} {
		img.Size += allocated(filepath.Join(dir, f))
	}
	b, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o644)
}

// readManifest loads an image directory's manifest and fills in the paths.
func readManifest(dir string) (Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Image{}, err
	}
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return Image{}, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if img.Name != filepath.Base(dir) || img.Fingerprint == "" {
		return Image{}, errors.New(dir + ": manifest does not match its directory")
	}
	img.Dir = dir
	img.Kernel = filepath.Join(dir, KernelFile)
	img.Initrd = filepath.Join(dir, InitrdFile)
	img.Rootfs = filepath.Join(dir, RootfsFile)
	return img, nil
}

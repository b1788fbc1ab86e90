package image

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// aptLists is where apt keeps its package lists; their stamps key the
// memo of apt-cache answers (apt-cache takes about a second per call).
const aptLists = "/var/lib/apt/lists"

// kernelSource is a resolved kernel input: its identity (for the
// fingerprint) and how to get the files.
type kernelSource struct {
	identity   []string
	pkg        *debPackage // download this (default path)
	deb        string      // or extract this .deb
	kernelFile string      // or use these directly
	modulesDir string
}

// resolveKernel works out which kernel to use without downloading or
// extracting anything when the answer is memoised.
func (b *Builder) resolveKernel(ctx context.Context, m *memo) (kernelSource, error) {
	switch {
	case b.kernelFile != "" || b.modulesDir != "":
		if b.kernelFile == "" || b.modulesDir == "" {
			return kernelSource{}, fmt.Errorf("%w: kernel: both a kernel file and a modules dir are needed", ErrInvalid)
		}
		sum, err := m.fileSHA256(b.kernelFile)
		if err != nil {
			return kernelSource{}, fmt.Errorf("%w: kernel file: %w", ErrInvalid, err)
		}
		mods, err := resolveModules(b.modulesDir, b.modules)
		if err != nil {
			return kernelSource{}, err
		}
		b.emit(Event{Step: StepResolveKernel, Detail: b.kernelFile})
		id := []string{"kernel-file " + sum, "kernel-version " + filepath.Base(b.modulesDir)}
		for _, mod := range mods {
			id = append(id, "module "+mod.Rel+" "+sha256Hex(mod.Data))
		}
		return kernelSource{identity: id, kernelFile: b.kernelFile, modulesDir: b.modulesDir}, nil
	case b.kernelDeb != "":
		sum, err := m.fileSHA256(b.kernelDeb)
		if err != nil {
			return kernelSource{}, fmt.Errorf("%w: kernel deb: %w", ErrInvalid, err)
		}
		b.emit(Event{Step: StepResolveKernel, Detail: filepath.Base(b.kernelDeb)})
		return kernelSource{identity: []string{"kernel-deb " + sum}, deb: b.kernelDeb}, nil
	}
	key := "apt:" + b.kernelPkg + ":" + dirStamp(aptLists)
	var p debPackage
	if v, ok := m.get(key); ok && json.Unmarshal([]byte(v), &p) == nil && p.Name != "" {
		b.emit(Event{Step: StepResolveKernel, Detail: p.Name + " " + p.Version, Cached: true})
		return kernelSource{identity: []string{"kernel-package " + p.Name + " " + p.Version + " " + p.Arch}, pkg: &p}, nil
	}
	fields, err := aptShow(ctx, b.kernelPkg)
	if err != nil {
		return kernelSource{}, err
	}
	p, err = kernelDependency(fields)
	if err != nil {
		return kernelSource{}, err
	}
	if v, err := json.Marshal(p); err == nil {
		if err := m.put(key, string(v)); err != nil {
			b.log.Warn("cannot save apt resolution", "err", err)
		}
	}
	b.emit(Event{Step: StepResolveKernel, Detail: p.Name + " " + p.Version})
	return kernelSource{identity: []string{"kernel-package " + p.Name + " " + p.Version + " " + p.Arch}, pkg: &p}, nil
}

// materialize returns the kernel image and modules dir, downloading and
// extracting the package into work when needed.
func (b *Builder) materializeKernel(ctx context.Context, ks kernelSource, debsDir, work string) (kernel, modulesDir string, err error) {
	if ks.kernelFile != "" {
		return ks.kernelFile, ks.modulesDir, nil
	}
	deb := ks.deb
	if ks.pkg != nil {
		if _, err := os.Stat(filepath.Join(debsDir, ks.pkg.FileName())); err != nil {
			b.emit(Event{Step: StepDownload, Detail: ks.pkg.FileName()}) // starting
		}
		path, cached, err := aptDownload(ctx, debsDir, *ks.pkg)
		if err != nil {
			return "", "", err
		}
		deb = path
		if fi, err := os.Stat(path); err == nil {
			b.emit(Event{Step: StepDownload, Detail: ks.pkg.FileName(), Bytes: fi.Size(), Cached: cached})
		}
	}
	root := filepath.Join(work, "kernel")
	b.emit(Event{Step: StepExtract, Detail: filepath.Base(deb)})
	if _, err := runTool(ctx, "", "dpkg-deb", "-x", deb, root); err != nil {
		return "", "", err
	}
	return findKernel(root)
}

// findKernel locates boot/vmlinuz-* and (usr/)lib/modules/<kver> in an
// extracted kernel package; both must be unique and agree on the version.
func findKernel(root string) (kernel, modulesDir string, err error) {
	ks, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	ms, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*"))
	um, _ := filepath.Glob(filepath.Join(root, "usr", "lib", "modules", "*"))
	ms = append(ms, um...)
	if len(ks) != 1 || len(ms) != 1 {
		return "", "", fmt.Errorf("%w: kernel package: want one boot/vmlinuz-* and one lib/modules/*, found %d and %d", ErrInvalid, len(ks), len(ms))
	}
	if v := strings.TrimPrefix(filepath.Base(ks[0]), "vmlinuz-"); v != filepath.Base(ms[0]) {
		return "", "", fmt.Errorf("%w: kernel package: vmlinuz-%s but modules for %s", ErrInvalid, v, filepath.Base(ms[0]))
	}
	return ks[0], ms[0], nil
}

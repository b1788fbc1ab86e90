package image

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/smolvm/smolvm/internal/cpio"
	"github.com/smolvm/smolvm/internal/paths"
)

// hostBusyboxes are checked in order for a static busybox.
var hostBusyboxes = []string{"/bin/busybox", "/usr/bin/busybox"}

// busyboxSource is the busybox binary the rootfs gets.
type busyboxSource struct {
	Path    string
	SHA256  string
	Version string
}

// isStatic reports whether path is an ELF executable without an
// interpreter (PT_INTERP), i.e. one that runs without a libc in the guest.
func isStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return false, nil
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// resolveBusybox picks the busybox: the option, else a static host one,
// else busybox-static from the distribution, extracted under the cache.
func (b *Builder) resolveBusybox(ctx context.Context, m *memo, cacheDir string) (busyboxSource, error) {
	path := b.busybox
	if path != "" {
		if ok, err := isStatic(path); err != nil || !ok {
			return busyboxSource{}, fmt.Errorf("%w: busybox %s: not a static ELF executable%s", ErrInvalid, path, errSuffix(err))
		}
	} else {
		for _, p := range hostBusyboxes {
			if ok, err := isStatic(p); err == nil && ok {
				path = p
				break
			}
		}
	}
	if path == "" {
		p, err := b.fetchBusybox(ctx, m, cacheDir)
		if err != nil {
			return busyboxSource{}, err
		}
		path = p
	}
	sum, err := m.fileSHA256(path)
	if err != nil {
		return busyboxSource{}, err
	}
	key := "busybox-version:" + sum
	ver, ok := m.get(key)
	if !ok {
		// busybox with no arguments prints its banner and exits 0 or 1.
		out, _ := runToolOutput(ctx, path)
		if ver, err = parseBusyboxVersion(out); err != nil {
			return busyboxSource{}, fmt.Errorf("%s: %w", path, err)
		}
		if err := m.put(key, ver); err != nil {
			b.log.Warn("cannot save busybox version", "err", err)
		}
	}
	return busyboxSource{Path: path, SHA256: sum, Version: ver}, nil
}

// fetchBusybox downloads busybox-static and extracts it once per version.
func (b *Builder) fetchBusybox(ctx context.Context, m *memo, cacheDir string) (string, error) {
	key := "apt:busybox-static:" + dirStamp(aptLists)
	fields := map[string]string{}
	if v, ok := m.get(key); ok {
		fields = parseControl([]byte(v))
	}
	if fields["Version"] == "" {
		f, err := aptShow(ctx, "busybox-static")
		if err != nil {
			return "", err
		}
		fields = f
		if err := m.put(key, "Package: "+f["Package"]+"\nVersion: "+f["Version"]+"\nArchitecture: "+f["Architecture"]+"\n"); err != nil {
			b.log.Warn("cannot save apt resolution", "err", err)
		}
	}
	p := debPackage{Name: fields["Package"], Version: fields["Version"], Arch: fields["Architecture"]}
	if err := p.valid(); err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "busybox", strings.TrimSuffix(p.FileName(), ".deb"))
	bin := filepath.Join(dir, "bin", "busybox")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	b.emit(Event{Step: StepDownload, Detail: p.FileName()})
	deb, _, err := aptDownload(ctx, b.debsDir(paths.Dirs{Cache: cacheDir}), p)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".extract-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if _, err := runTool(ctx, "", "dpkg-deb", "-x", deb, tmp); err != nil {
		return "", err
	}
	if ok, err := isStatic(filepath.Join(tmp, "bin", "busybox")); err != nil || !ok {
		return "", fmt.Errorf("%w: %s holds no static bin/busybox", ErrInvalid, p.FileName())
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		if _, serr := os.Stat(bin); serr != nil {
			return "", err
		}
	}
	return bin, nil
}

var busyboxBanner = regexp.MustCompile(`(?m)^BusyBox v(\S+)(?: (\([^)\n]*\)))?`)

// parseBusyboxVersion extracts "1.35.0 (Debian 1:1.35.0-4)" from the
// banner busybox prints when run without arguments.
func parseBusyboxVersion(out []byte) (string, error) {
	m := busyboxBanner.FindSubmatch(out)
	if m == nil {
		return "", errors.New("no BusyBox version banner")
	}
	if len(m[2]) > 0 {
		return string(m[1]) + " " + string(m[2]), nil
	}
	return string(m[1]), nil
}

// parseApplets parses `busybox --list-full` output into cleaned relative
// paths (e.g. "bin/sh"). A line that would escape the root is an error;
// blank lines and busybox itself are skipped.
func parseApplets(out []byte) ([]string, error) {
	var apps []string
	seen := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, err := cpio.CleanName(line)
		if err != nil || name == "." {
			return nil, fmt.Errorf("busybox applet path %q: %w", line, cpio.ErrUnsafeName)
		}
		if name == "bin/busybox" || seen[name] {
			continue
		}
		seen[name] = true
		apps = append(apps, name)
	}
	if len(apps) == 0 {
		return nil, errors.New("busybox lists no applets")
	}
	return apps, nil
}

// runToolOutput runs a tool and returns stdout+stderr whatever its status.
func runToolOutput(ctx context.Context, name string, args ...string) ([]byte, error) {
	return commandContext(ctx, name, args...).CombinedOutput()
}

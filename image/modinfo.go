package image

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrModuleMissing is returned when a needed module is not in the kernel's
// modules directory; the message names it and who needs it.
var ErrModuleMissing = errors.New("kernel module missing")

// ErrModuleCycle is returned when module dependencies form a cycle.
var ErrModuleCycle = errors.New("kernel module dependency cycle")

// modinfo is what the initrd builder needs from a module's .modinfo section.
type modinfo struct {
	Name    string
	Depends []string
}

// moduleName normalises a module name the way the kernel does ('-' == '_').
func moduleName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// parseModinfo parses the contents of a .modinfo ELF section: NUL-separated
// key=value strings. Strings without '=' (padding, garbage) are skipped.
func parseModinfo(data []byte) (modinfo, error) {
	var mi modinfo
	seenDepends := false
	for _, f := range bytes.Split(data, []byte{0}) {
		k, v, ok := strings.Cut(string(f), "=")
		if !ok {
			continue
		}
		switch k {
		case "name":
			mi.Name = moduleName(v)
		case "depends":
			if seenDepends {
				return modinfo{}, errors.New("modinfo: two depends= entries")
			}
			seenDepends = true
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					mi.Depends = append(mi.Depends, moduleName(d))
				}
			}
		}
	}
	return mi, nil
}

// readModule returns the uncompressed bytes of a .ko, .ko.xz, .ko.zst or
// .ko.gz file.
func readModule(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	switch {
	case strings.HasSuffix(path, ".ko"):
		return raw, nil
	case strings.HasSuffix(path, ".ko.xz"):
		r, err = xz.NewReader(bytes.NewReader(raw))
	case strings.HasSuffix(path, ".ko.gz"):
		r, err = gzip.NewReader(bytes.NewReader(raw))
	case strings.HasSuffix(path, ".ko.zst"):
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(raw))
		if err == nil {
			defer d.Close()
			r = d
		}
	default:
		return nil, fmt.Errorf("%s: not a kernel module", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// elfModinfo reads the .modinfo section of an uncompressed module.
func elfModinfo(ko []byte) (modinfo, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return modinfo{}, err
	}
	defer func() { _ = f.Close() }()
	s := f.Section(".modinfo")
	if s == nil {
		return modinfo{}, errors.New("no .modinfo section")
	}
	data, err := s.Data()
	if err != nil {
		return modinfo{}, err
	}
	return parseModinfo(data)
}

// moduleIndex maps module names to paths relative to the modules dir.
type moduleIndex map[string]string

// indexModules walks modulesDir for kernel modules, naming each by its file
// name (the kernel's rule). The walk is lexical, so a duplicate name
// resolves to the same file every time.
func indexModules(modulesDir string) (moduleIndex, error) {
	idx := moduleIndex{}
	err := filepath.WalkDir(modulesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		base := d.Name()
		i := strings.Index(base, ".ko")
		if ext := base[max(i, 0):]; i <= 0 || (ext != ".ko" && ext != ".ko.xz" && ext != ".ko.zst" && ext != ".ko.gz") {
			return nil
		}
		name := moduleName(base[:i])
		if _, dup := idx[name]; !dup {
			rel, err := filepath.Rel(modulesDir, p)
			if err != nil {
				return err
			}
			idx[name] = rel
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index modules: %w", err)
	}
	return idx, nil
}

// orderModules returns roots and everything they depend on, dependencies
// first. depsOf returns a module's direct dependencies; its error for an
// unknown module is wrapped with the name of the module that needs it.
// Roots are visited in the given order and dependencies in listed order,
// so the result is deterministic.
func orderModules(roots []string, depsOf func(name string) ([]string, error)) ([]string, error) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order, stack []string
	var visit func(name, neededBy string) error
	visit = func(name, neededBy string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			i := len(stack) - 1
			for i > 0 && stack[i] != name {
				i--
			}
			cycle := append(append([]string(nil), stack[i:]...), name)
			return fmt.Errorf("%w: %s", ErrModuleCycle, strings.Join(cycle, " -> "))
		}
		deps, err := depsOf(name)
		if err != nil {
			if neededBy != "" {
				return fmt.Errorf("%s (needed by %s): %w", name, neededBy, err)
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		state[name] = visiting
		stack = append(stack, name)
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		order = append(order, name)
		return nil
	}
	for _, r := range roots {
		if err := visit(moduleName(r), ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// loadedModule is one module ready for the initrd.
type loadedModule struct {
	Name string
	Rel  string // initrd path relative to lib/modules/<kver>, always ending in .ko
	Data []byte // uncompressed
}

// resolveModules reads the roots and their dependencies from modulesDir and
// returns them in load order.
func resolveModules(modulesDir string, roots []string) ([]loadedModule, error) {
	idx, err := indexModules(modulesDir)
	if err != nil {
		return nil, err
	}
	loaded := map[string]loadedModule{}
	depsOf := func(name string) ([]string, error) {
		rel, ok := idx[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s not under %s", ErrModuleMissing, name, modulesDir)
		}
		ko, err := readModule(filepath.Join(modulesDir, rel))
		if err != nil {
			return nil, err
		}
		mi, err := elfModinfo(ko)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		rel = rel[:strings.LastIndex(rel, ".ko")] + ".ko"
		loaded[name] = loadedModule{Name: name, Rel: filepath.ToSlash(rel), Data: ko}
		return mi.Depends, nil
	}
	order, err := orderModules(roots, depsOf)
	if err != nil {
		return nil, err
	}
	out := make([]loadedModule, len(order))
	for i, n := range order {
		out[i] = loaded[n]
	}
	return out, nil
}

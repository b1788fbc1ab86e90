package guest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/guest/cmdline"
)

// modulesList is the initrd's list of modules to load, in order.
const modulesList = "/etc/smolvm/modules"

// moduleName is the kernel's name for a module file: the base name
// without .ko, with '-' as '_'.
func moduleName(p string) string {
	n := path.Base(p)
	if i := strings.Index(n, ".ko"); i >= 0 {
		n = n[:i]
	}
	return strings.ReplaceAll(n, "-", "_")
}

// readModuleList returns the non-empty, non-comment lines of the list,
// made absolute.
func readModuleList(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		if l = strings.TrimLeft(l, "/"); l == "" {
			continue
		}
		out = append(out, "/"+l)
	}
	return out
}

// loadModules loads every module of the list with finit_module, passing
// the command line's parameters for it. A module already loaded or built
// in is fine; any other failure is logged and the rest still load (a
// missing driver shows up later, e.g. as the root device never
// appearing). It returns how many modules were loaded and the errors.
func loadModules(log *slog.Logger, params []cmdline.Param) (int, []error) {
	b, err := os.ReadFile(modulesList)
	if errors.Is(err, os.ErrNotExist) {
		log.Info("no module list", "path", modulesList)
		return 0, nil
	}
	if err != nil {
		return 0, []error{err}
	}
	n := 0
	var errs []error
	for _, p := range readModuleList(b) {
		name := moduleName(p)
		opts := cmdline.ModuleParams(params, name)
		err := finitModule(p, opts)
		switch {
		case err == nil:
			n++
			log.Debug("module loaded", "name", name, "params", opts)
		case errors.Is(err, unix.EEXIST):
			log.Debug("module already loaded", "name", name)
		default:
			log.Error("module load failed", "name", name, "err", err)
			errs = append(errs, fmt.Errorf("module %s: %w", name, err))
		}
	}
	return n, errs
}

func finitModule(p, params string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return unix.FinitModule(int(f.Fd()), params, 0)
}

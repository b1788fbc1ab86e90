package firecracker

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smolvm/smolvm/internal/paths"
)

// tailLines returns the last n lines of a file, or a note when unreadable.
func tailLines(path string, n int) string {
	b, err := os.ReadFile(path) //nolint:gosec // per-VM log
	if err != nil {
		return fmt.Sprintf("(cannot read: %v)", err)
	}
	const maxBytes = 64 << 10
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(b) == 0 {
		return "(empty)"
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// withLogs adds the tails of the VMM log and the serial log (where
// firecracker's stdout and stderr go) to a start-up error.
func withLogs(err error, vm paths.VM, l Launch) error {
	logPath := l.Log
	if l.ChrootDir != "" {
		logPath = filepath.Join(l.ChrootDir, l.Log)
	}
	return fmt.Errorf("%w\nvmm log %s, tail:\n%s\nserial log %s (firecracker stdout/stderr), tail:\n%s",
		err, logPath, tailLines(logPath, 20), vm.SerialLog(), tailLines(vm.SerialLog(), 20))
}

package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// qcow2Magic starts every qcow2 image ("QFI\xfb").
var qcow2Magic = []byte{'Q', 'F', 'I', 0xfb}

// DiskFormat returns FormatQCOW2 when the file at path starts with the
// qcow2 magic, else FormatRaw. The name of the file plays no part.
func DiskFormat(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("disk format: %w", err)
	}
	defer func() { _ = f.Close() }()
	head := make([]byte, len(qcow2Magic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("disk format %s: %w", path, err)
	}
	return formatOf(head[:n]), nil
}

// formatOf classifies an image by its first bytes.
func formatOf(head []byte) string {
	if bytes.HasPrefix(head, qcow2Magic) {
		return FormatQCOW2
	}
	return FormatRaw
}

// PrepareDisk makes the VM's disk. DiskIsolated creates dst as a qcow2
// overlay whose backing file is base's absolute path, in base's detected
// format; dst must not exist yet (a VM's disk is never overwritten).
// DiskShared returns base's absolute path and writes nothing. The returned
// path is what Spec.Disk must be.
func (b *Backend) PrepareDisk(ctx context.Context, base, dst string, mode hypervisor.DiskMode) (string, error) {
	abs, err := filepath.Abs(base)
	if err != nil {
		return "", fmt.Errorf("prepare disk: %w", err)
	}
	format, err := DiskFormat(abs)
	if err != nil {
		return "", fmt.Errorf("prepare disk: base: %w", err)
	}
	switch mode {
	case hypervisor.DiskShared:
		return abs, nil
	case hypervisor.DiskIsolated:
	default:
		return "", fmt.Errorf("%w: DiskMode %q: must be %q or %q", ErrInvalidSpec, mode, hypervisor.DiskIsolated, hypervisor.DiskShared)
	}
	if _, err := os.Lstat(dst); err == nil {
		return "", fmt.Errorf("prepare disk %s: %w", dst, fs.ErrExist)
	}
	args := []string{"create", "-q", "-f", FormatQCOW2, "-b", abs, "-F", format, dst}
	cmd := exec.CommandContext(ctx, b.qemuImg, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.Remove(dst)
		return "", fmt.Errorf("prepare disk: %s %s: %w: %s", b.qemuImg,
			strings.Join(args, " "), err, strconv.Quote(strings.TrimSpace(string(out))))
	}
	b.log.Debug("disk overlay created", "disk", dst, "base", abs, "base_format", format)
	return dst, nil
}

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/smolvm/smolvm/internal/cpio"
)

// BuildBareInitrd compiles ./bench/bareinit (static, CGO_ENABLED=0) with the
// go tool and writes dst: a gzip-compressed newc cpio, the format smolvm's
// own initrd has, holding /init, /dev and /dev/console. moduleRoot is the
// repository root (the go build runs there).
func BuildBareInitrd(ctx context.Context, moduleRoot, dst string) error {
	tmp, err := os.MkdirTemp("", "smolvm-bareinit-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	bin := filepath.Join(tmp, "init")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./bench/bareinit")
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build bareinit: %w: %s", err, out)
	}
	init, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := WriteBareCpio(zw, init); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// WriteBareCpio writes the baseline initramfs: /dev, /dev/console (char
// 5:1, so the kernel gives init a console) and /init (mode 0755).
func WriteBareCpio(w io.Writer, init []byte) error {
	return cpio.Write(w, []cpio.Entry{
		{Name: "dev", Mode: fs.ModeDir | 0o755},
		{Name: "dev/console", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600, Major: 5, Minor: 1},
		{Name: "init", Mode: 0o755, Data: init},
	})
}

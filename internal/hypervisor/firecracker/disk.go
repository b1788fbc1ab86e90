package firecracker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// PrepareDisk makes the VM's own disk. DiskShared returns base itself.
// DiskIsolated writes dst as a reflink (FICLONE) of base where the
// filesystem supports it, else as a sparse copy (zero runs become holes);
// the copy is written to a temporary name and renamed, so dst is complete
// or absent.
func (b *Backend) PrepareDisk(ctx context.Context, base, dst string, mode hypervisor.DiskMode) (string, error) {
	switch mode {
	case hypervisor.DiskShared:
		if _, err := os.Stat(base); err != nil {
			return "", fmt.Errorf("%w: base disk: %w", ErrInvalidSpec, err)
		}
		return base, nil
	case hypervisor.DiskIsolated:
	default:
		return "", fmt.Errorf("%w: disk mode %q", ErrInvalidSpec, mode)
	}
	how, err := CopyDisk(ctx, base, dst)
	if err != nil {
		return "", fmt.Errorf("prepare disk %s: %w", dst, err)
	}
	b.log.Debug("disk prepared", "dst", dst, "method", how)
	return dst, nil
}

// CopyDisk copies src to dst by reflink, falling back to a sparse copy,
// and says which it used ("reflink" or "sparse").
func CopyDisk(ctx context.Context, src, dst string) (string, error) {
	in, err := os.Open(src) //nolint:gosec // caller-chosen image path
	if err != nil {
		return "", err
	}
	defer func() { _ = in.Close() }()
	st, err := in.Stat()
	if err != nil {
		return "", err
	}
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600) //nolint:gosec // per-VM path
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			_ = out.Close()
			_ = os.Remove(tmp)
		}
	}()
	how := "reflink"
	if err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd())); err != nil { //nolint:gosec // fds fit in int
		if !reflinkUnsupported(err) {
			return "", fmt.Errorf("FICLONE: %w", err)
		}
		how = "sparse"
		if err := sparseCopy(ctx, out, in, st.Size()); err != nil {
			return "", err
		}
	}
	if err := out.Sync(); err != nil {
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	ok = true
	return how, nil
}

func reflinkUnsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EINVAL) ||
		errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM)
}

// sparseCopy copies size bytes, seeking over all-zero blocks so they stay
// holes, and truncates to size at the end so a trailing hole counts.
func sparseCopy(ctx context.Context, out *os.File, in io.Reader, size int64) error {
	const block = 64 << 10
	buf := make([]byte, block)
	zero := make([]byte, block)
	var off int64
	for off < size {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(in, buf)
		if n > 0 {
			if bytes.Equal(buf[:n], zero[:n]) {
				if _, err := out.Seek(int64(n), io.SeekCurrent); err != nil {
					return err
				}
			} else if _, err := out.Write(buf[:n]); err != nil {
				return err
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	return out.Truncate(off)
}

package kernel

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// ErrNoVmlinux means no compressed payload in the image decompressed to a
// bootable ELF vmlinux.
var ErrNoVmlinux = errors.New("no ELF vmlinux found in kernel image")

// MaxVmlinux bounds the size of an extracted vmlinux.
const MaxVmlinux = 1 << 30

// format is one compression scheme the kernel build may use for its payload.
type format struct {
	name  string
	magic []byte
	open  func(io.Reader) (io.Reader, error)
}

// formats follows the kernel's scripts/extract-vmlinux (lzo aside).
var formats = []format{
	{"gzip", []byte{0x1f, 0x8b, 0x08}, func(r io.Reader) (io.Reader, error) {
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		z.Multistream(false)
		return z, nil
	}},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, func(r io.Reader) (io.Reader, error) {
		return xz.ReaderConfig{SingleStream: true}.NewReader(r)
	}},
	{"bzip2", []byte("BZh"), func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil }},
	{"lzma", []byte{0x5d, 0x00, 0x00}, func(r io.Reader) (io.Reader, error) { return lzma.NewReader(r) }},
	// The legacy LZ4 frame (magic 0x184C2102) that the kernel's lz4 -l makes.
	{"lz4", []byte{0x02, 0x21, 0x4c, 0x18}, func(r io.Reader) (io.Reader, error) { return lz4.NewReader(r), nil }},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}, func(r io.Reader) (io.Reader, error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxVmlinux))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}},
}

// Extracted is the result of Extract.
type Extracted struct {
	Vmlinux []byte
	Format  string // "elf" when the input already was one, else the compression
	Offset  int    // payload offset in the input
	Info    ELFInfo
}

// Extract returns the ELF vmlinux inside a kernel image: the input itself
// when it is already a suitable ELF, else the first compressed payload
// (found by the boot header's payload offset, then by scanning for each
// format's magic) that decompresses to an ELF passing ParseELF.
func Extract(img []byte) (Extracted, error) {
	if IsELF(img) {
		info, err := ParseELF(img)
		if err != nil {
			return Extracted{}, err
		}
		return Extracted{Vmlinux: img, Format: "elf", Info: info}, nil
	}
	tried := map[int]bool{}
	if off, ok := payloadOffset(img); ok {
		for _, f := range formats {
			if bytes.HasPrefix(img[off:], f.magic) {
				tried[off] = true
				if x, ok := try(img, off, f); ok {
					return x, nil
				}
			}
		}
	}
	for _, f := range formats {
		for from := 0; ; {
			i := bytes.Index(img[from:], f.magic)
			if i < 0 {
				break
			}
			off := from + i
			from = off + 1
			if tried[off] {
				continue
			}
			if x, ok := try(img, off, f); ok {
				return x, nil
			}
		}
	}
	return Extracted{}, ErrNoVmlinux
}

// payloadOffset reads the bzImage setup header's payload_offset.
func payloadOffset(img []byte) (int, bool) {
	if !IsBzImage(img) || len(img) < 0x250 {
		return 0, false
	}
	setupSects := int(img[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	off := (setupSects+1)*512 + int(binary.LittleEndian.Uint32(img[0x248:]))
	if off <= 0 || off >= len(img) {
		return 0, false
	}
	return off, true
}

// try decompresses the candidate at off. Trailing bytes after a payload
// (the kernel appends its size; the image continues) often make a
// decompressor fail at the end, so the output is judged, not the error.
func try(img []byte, off int, f format) (Extracted, bool) {
	r, err := f.open(bytes.NewReader(img[off:]))
	if err != nil {
		return Extracted{}, false
	}
	if c, ok := r.(io.Closer); ok {
		defer func() { _ = c.Close() }()
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(r, head); err != nil || !IsELF(head) {
		return Extracted{}, false
	}
	var out bytes.Buffer
	out.Write(head)
	_, _ = io.Copy(&out, io.LimitReader(r, MaxVmlinux-4))
	info, err := ParseELF(out.Bytes())
	if err != nil {
		return Extracted{}, false
	}
	return Extracted{Vmlinux: out.Bytes(), Format: f.name, Offset: off, Info: info}, true
}

// ExtractFile extracts the vmlinux from the image at src and writes it to
// dst atomically (temp file in dst's directory, then rename).
func ExtractFile(src, dst string) (Extracted, error) {
	img, err := os.ReadFile(src) //nolint:gosec // caller-chosen kernel path
	if err != nil {
		return Extracted{}, err
	}
	x, err := Extract(img)
	if err != nil {
		return Extracted{}, fmt.Errorf("extract vmlinux from %s: %w", src, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".vmlinux-*")
	if err != nil {
		return Extracted{}, err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(x.Vmlinux); err != nil {
		_ = tmp.Close()
		return Extracted{}, err
	}
	if err := tmp.Close(); err != nil {
		return Extracted{}, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { //nolint:gosec // a kernel image is not secret
		return Extracted{}, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Extracted{}, err
	}
	return x, nil
}

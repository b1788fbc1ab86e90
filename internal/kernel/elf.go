// Package kernel prepares kernels for Firecracker: it extracts the ELF
// vmlinux from a compressed bzImage, checks that an image is an ELF64
// x86-64 executable with an entry point, and judges from a kernel config
// whether the kernel can find Firecracker's virtio-mmio devices.
package kernel

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotELF means the image is not an ELF file (for example a bzImage).
var ErrNotELF = errors.New("not an ELF kernel image")

// ErrUnsuitableELF means the image is ELF but not a bootable x86-64
// vmlinux (wrong class or machine, no entry point, truncated).
var ErrUnsuitableELF = errors.New("unsuitable ELF kernel image")

// ELFInfo holds the header fields Firecracker's loader depends on.
type ELFInfo struct {
	Class    string `json:"class"`   // "ELFCLASS64"
	Machine  string `json:"machine"` // "EM_X86_64"
	Type     string `json:"type"`    // "ET_EXEC"
	Entry    uint64 `json:"entry"`
	NumProgs int    `json:"num_progs"` // program headers
}

var elfMagic = []byte{0x7f, 'E', 'L', 'F'}

// IsELF reports whether b starts with the ELF magic.
func IsELF(b []byte) bool { return bytes.HasPrefix(b, elfMagic) }

// ParseELF checks b is a complete ELF64 x86-64 executable with a non-zero
// entry point whose loadable segments lie inside b, and returns its header.
func ParseELF(b []byte) (ELFInfo, error) {
	return parseELF(bytes.NewReader(b), int64(len(b)))
}

func parseELF(r io.ReaderAt, size int64) (ELFInfo, error) {
	head := make([]byte, 4)
	if _, err := r.ReadAt(head, 0); err != nil || !IsELF(head) {
		return ELFInfo{}, ErrNotELF
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return ELFInfo{}, fmt.Errorf("%w: %w", ErrUnsuitableELF, err)
	}
	info := ELFInfo{Class: f.Class.String(), Machine: f.Machine.String(), Type: f.Type.String(),
		Entry: f.Entry, NumProgs: len(f.Progs)}
	switch {
	case f.Class != elf.ELFCLASS64:
		return info, fmt.Errorf("%w: class %s, want ELFCLASS64", ErrUnsuitableELF, f.Class)
	case f.Machine != elf.EM_X86_64:
		return info, fmt.Errorf("%w: machine %s, want EM_X86_64", ErrUnsuitableELF, f.Machine)
	case f.Type != elf.ET_EXEC:
		return info, fmt.Errorf("%w: type %s, want ET_EXEC", ErrUnsuitableELF, f.Type)
	case f.Entry == 0:
		return info, fmt.Errorf("%w: entry point is 0", ErrUnsuitableELF)
	case len(f.Progs) == 0:
		return info, fmt.Errorf("%w: no program headers", ErrUnsuitableELF)
	}
	for i, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Off+p.Filesz > uint64(size) { //nolint:gosec // size >= 0
			return info, fmt.Errorf("%w: segment %d ends at %d, past the image (%d bytes): truncated",
				ErrUnsuitableELF, i, p.Off+p.Filesz, size)
		}
	}
	return info, nil
}

// CheckELF reads the image at path and checks it with ParseELF. A bzImage
// gives an error wrapping ErrNotELF that says to extract the vmlinux.
// Only the headers are read.
func CheckELF(path string) (ELFInfo, error) {
	f, err := os.Open(path) //nolint:gosec // caller-chosen kernel path
	if err != nil {
		return ELFInfo{}, err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return ELFInfo{}, err
	}
	info, err := parseELF(f, st.Size())
	if errors.Is(err, ErrNotELF) {
		what := "unknown format"
		hdr := make([]byte, 0x210)
		n, _ := f.ReadAt(hdr, 0)
		if IsBzImage(hdr[:n]) {
			what = "a compressed bzImage"
		}
		return info, fmt.Errorf("kernel %s is %s: %w; Firecracker needs an uncompressed ELF vmlinux (extract it with kernel.ExtractFile or build with `make vmlinux`)", path, what, err)
	}
	if err != nil {
		return info, fmt.Errorf("kernel %s: %w", path, err)
	}
	return info, nil
}

// IsBzImage reports whether b carries the x86 boot protocol header ("HdrS").
func IsBzImage(b []byte) bool {
	return len(b) > 0x206 && string(b[0x202:0x206]) == "HdrS"
}

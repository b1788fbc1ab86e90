package kernel

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/smolvm/smolvm/internal/testenv"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// synthELF builds a minimal ELF64 x86-64 executable: header, one PT_LOAD
// program header and a body of n bytes.
func synthELF(entry uint64, machine uint16, n int) []byte {
	const ehsize, phsize = 64, 56
	b := make([]byte, ehsize+phsize+n)
	copy(b, elfMagic)
	b[4], b[5], b[6] = 2, 1, 1 // ELFCLASS64, little endian, version
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2) // ET_EXEC
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], entry)
	le.PutUint64(b[32:], ehsize) // phoff
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phsize)
	le.PutUint16(b[56:], 1) // phnum
	ph := b[ehsize:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5)
	le.PutUint64(ph[8:], ehsize+phsize) // offset
	le.PutUint64(ph[16:], entry)
	le.PutUint64(ph[24:], entry)
	le.PutUint64(ph[32:], uint64(n)) // filesz
	le.PutUint64(ph[40:], uint64(n))
	for i := range n {
		b[ehsize+phsize+i] = byte(i * 7)
	}
	return b
}

const emX8664 = 62

func compress(t *testing.T, format string, in []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch format {
	case "gzip":
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(in)
		_ = w.Close()
	case "xz":
		w, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(in)
		_ = w.Close()
	case "lzma":
		w, err := lzma.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(in)
		_ = w.Close()
	case "lz4":
		w := lz4.NewWriter(&buf)
		if err := w.Apply(lz4.LegacyOption(true)); err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(in)
		_ = w.Close()
	case "zstd":
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(in)
		_ = w.Close()
	case "bzip2":
		py := testenv.RequireTool(t, "python3")
		cmd := exec.Command(py, "-c", "import bz2,sys; sys.stdout.buffer.write(bz2.compress(sys.stdin.buffer.read()))")
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return out
	default:
		t.Fatalf("unknown format %s", format)
	}
	return buf.Bytes()
}

// fakeBzImage lays out a boot header pointing at payload, with the kernel's
// trailing size word and more image after it.
func fakeBzImage(payload []byte, origSize int, withHeader bool) []byte {
	setupSects := 3
	start := (setupSects + 1) * 512
	img := make([]byte, start+200)
	for i := range img {
		img[i] = byte(i*31 + 3)
	}
	if withHeader {
		img[0x1f1] = byte(setupSects)
		copy(img[0x202:], "HdrS")
		binary.LittleEndian.PutUint32(img[0x248:], 200)
	}
	// A decoy gzip magic followed by junk before the real payload.
	copy(img[start+10:], []byte{0x1f, 0x8b, 0x08, 0, 0xff, 0xff})
	img = append(img, payload...)
	img = binary.LittleEndian.AppendUint32(img, uint32(origSize))
	return append(img, bytes.Repeat([]byte{0xcc}, 300)...)
}

func TestExtractFormats(t *testing.T) {
	vm := synthELF(0x1000000, emX8664, 70000)
	for _, f := range []string{"gzip", "xz", "bzip2", "lzma", "lz4", "zstd"} {
		for _, hdr := range []bool{true, false} {
			name := f + "/scan"
			if hdr {
				name = f + "/boot-header"
			}
			t.Run(name, func(t *testing.T) {
				img := fakeBzImage(compress(t, f, vm), len(vm), hdr)
				x, err := Extract(img)
				if err != nil {
					t.Fatal(err)
				}
				if x.Format != f || !bytes.Equal(x.Vmlinux, vm) {
					t.Fatalf("format %s, %d bytes (want %s, %d)", x.Format, len(x.Vmlinux), f, len(vm))
				}
				if x.Info.Entry != 0x1000000 || x.Info.Machine != "EM_X86_64" {
					t.Fatalf("info %+v", x.Info)
				}
			})
		}
	}
}

func TestExtractRejects(t *testing.T) {
	good := synthELF(0x1000000, emX8664, 4096)
	cases := []struct {
		name string
		img  []byte
		want error
	}{
		{"no payload", fakeBzImage(nil, 0, true), ErrNoVmlinux},
		{"payload is not ELF", fakeBzImage(compress(t, "gzip", bytes.Repeat([]byte("x"), 5000)), 5000, true), ErrNoVmlinux},
		{"truncated payload", fakeBzImage(compress(t, "zstd", good)[:40], len(good), true), ErrNoVmlinux},
		{"ELF of another machine", fakeBzImage(compress(t, "gzip", synthELF(0x1000, 183, 4096)), 4096, true), ErrNoVmlinux},
		{"plain ELF of another machine", synthELF(0x1000, 183, 16), ErrUnsuitableELF},
		{"plain ELF without entry", synthELF(0, emX8664, 16), ErrUnsuitableELF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Extract(c.img)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestExtractPassesELFThrough(t *testing.T) {
	vm := synthELF(0x1000000, emX8664, 16)
	x, err := Extract(vm)
	if err != nil || x.Format != "elf" || !bytes.Equal(x.Vmlinux, vm) {
		t.Fatalf("%+v %v", x.Format, err)
	}
}

func TestParseELFRules(t *testing.T) {
	trunc := synthELF(0x1000000, emX8664, 100)
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"ok", synthELF(0x1000000, emX8664, 100), nil},
		{"not elf", []byte("MZ\x90\x00"), ErrNotELF},
		{"truncated segment", trunc[:len(trunc)-10], ErrUnsuitableELF},
		{"zero entry", synthELF(0, emX8664, 10), ErrUnsuitableELF},
		{"aarch64", synthELF(0x80000, 183, 10), ErrUnsuitableELF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseELF(c.b)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(synthELF(0x1000000, emX8664, 32))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0, 0, 0})
	f.Add([]byte{0x02, 0x21, 0x4c, 0x18, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Extract(b)
		if err == nil {
			if _, err := ParseELF(x.Vmlinux); err != nil {
				t.Fatalf("accepted an unsuitable vmlinux: %v", err)
			}
		}
	})
}

package cpio

import (
	"errors"
	"fmt"
	"strconv"
)

// record is one parsed newc header plus its name and data (test only).
type record struct {
	name                       string
	ino, mode, uid, gid, mtime uint32
	rmajor, rminor             uint32
	data                       []byte
}

// readAll parses a newc archive up to its trailer, strictly.
func readAll(b []byte) ([]record, error) {
	var out []record
	off := 0
	for {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			return nil, fmt.Errorf("bad header at %d", off)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				return nil, err
			}
			f[i] = uint32(v)
		}
		namesize, filesize := int(f[11]), int(f[6])
		start := off + 110
		if namesize == 0 || start+namesize > len(b) || b[start+namesize-1] != 0 {
			return nil, errors.New("bad name")
		}
		name := string(b[start : start+namesize-1])
		off = align(start + namesize)
		if off+filesize > len(b) {
			return nil, errors.New("short data")
		}
		data := b[off : off+filesize]
		off = align(off + filesize)
		if name == "TRAILER!!!" {
			if off != len(b) {
				return nil, fmt.Errorf("%d bytes after trailer", len(b)-off)
			}
			return out, nil
		}
		out = append(out, record{name: name, ino: f[0], mode: f[1], uid: f[2], gid: f[3], mtime: f[5],
			rmajor: f[9], rminor: f[10], data: data})
	}
}

func align(n int) int { return (n + 3) &^ 3 }

package envsync

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		content string
		present bool
		junk    int
		err     bool
	}{
		{name: "present", in: "SMOLVM-ENV 1 3\nabc", content: "abc", present: true},
		{name: "present empty", in: "SMOLVM-ENV 1 0\n", content: "", present: true},
		{name: "missing", in: "SMOLVM-ENV 1 missing\n"},
		{name: "content with newlines and a fake frame", in: "SMOLVM-ENV 1 21\nSMOLVM-ENV 1 9\nabc\n\nx", content: "SMOLVM-ENV 1 9\nabc\n\nx", present: true},
		{name: "junk lines first", in: "hello\nworld\nSMOLVM-ENV 1 1\nz", content: "z", present: true, junk: 12},
		{name: "junk on the frame line", in: "noiseSMOLVM-ENV 1 1\nz", content: "z", present: true, junk: 5},
		{name: "only what the size says is read", in: "SMOLVM-ENV 1 2\nabOK\n", content: "ab", present: true},
		{name: "empty input", in: "", err: true},
		{name: "no newline after frame line", in: "SMOLVM-ENV 1 3", err: true},
		{name: "cut content", in: "SMOLVM-ENV 1 5\nabc", err: true},
		{name: "bad number", in: "SMOLVM-ENV 1 x\n", err: true},
		{name: "plus sign", in: "SMOLVM-ENV 1 +3\nabc", err: true},
		{name: "leading zero", in: "SMOLVM-ENV 1 03\nabc", err: true},
		{name: "trailing space", in: "SMOLVM-ENV 1 3 \nabc", err: true},
		{name: "CRLF frame line", in: "SMOLVM-ENV 1 3\r\nabc", err: true},
		{name: "other version", in: "SMOLVM-ENV 2 3\nabc", err: true},
		{name: "over the limit", in: "SMOLVM-ENV 1 101\n", err: true},
		{name: "too much junk", in: strings.Repeat("junk line\n", maxJunk/10+1) + "SMOLVM-ENV 1 0\n", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content, present, junk, err := readFrame(bufio.NewReader(strings.NewReader(tc.in)), 100)
			if tc.err {
				if err == nil {
					t.Fatalf("no error; got %q present=%v", content, present)
				}
				if !errors.Is(err, ErrProtocol) {
					t.Errorf("err = %v, want ErrProtocol", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(content) != tc.content || present != tc.present || junk != tc.junk {
				t.Errorf("got %q present=%v junk=%d, want %q present=%v junk=%d", content, present, junk, tc.content, tc.present, tc.junk)
			}
		})
	}
}

// FuzzReadFrame checks that readFrame never panics, never returns more
// than the limit, and reads back a frame it accepted when re-encoded.
func FuzzReadFrame(f *testing.F) {
	for _, s := range []string{
		"SMOLVM-ENV 1 3\nabc",
		"SMOLVM-ENV 1 missing\n",
		"junk\nSMOLVM-ENV 1 0\n",
		"SMOLVM-ENV 1 99999999999999999999\n",
		"SMOLVM-ENV 1 -1\n",
		"SMOLVM-ENV 1 5\nab",
	} {
		f.Add([]byte(s))
	}
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		content, present, junk, err := readFrame(bufio.NewReader(bytes.NewReader(data)), limit)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error not matching ErrProtocol: %v", err)
			}
			return
		}
		if len(content) > limit || junk > len(data) || !present && content != nil {
			t.Fatalf("content %d bytes, present=%v, junk %d of %d", len(content), present, junk, len(data))
		}
		if !present {
			return
		}
		enc := frameMagic + strconv.Itoa(len(content)) + "\n" + string(content)
		again, present2, junk2, err := readFrame(bufio.NewReader(strings.NewReader(enc)), limit)
		if err != nil || !present2 || junk2 != 0 || !bytes.Equal(again, content) {
			t.Fatalf("re-encoded frame read back as %q, %v, %d, %v", again, present2, junk2, err)
		}
	})
}

package cpio

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzCleanName checks that an accepted name never escapes the root and
// that the archive written for it reads back under that name.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"/etc/passwd", "../x", "a/./b//c/", "\x00", "/", "a/..b/c.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, err := CleanName(name)
		if err != nil {
			return
		}
		if strings.HasPrefix(c, "/") || strings.ContainsRune(c, 0) || c == ".." ||
			strings.HasPrefix(c, "../") || strings.Contains(c, "/../") || strings.HasSuffix(c, "/..") {
			t.Fatalf("CleanName(%q) = %q escapes", name, c)
		}
		if c == "." {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, []Entry{{Name: name, Mode: 0o644, Data: []byte(name)}}); err != nil {
			t.Fatalf("Write(%q): %v", name, err)
		}
		recs, err := readAll(buf.Bytes())
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if last := recs[len(recs)-1]; last.name != c || string(last.data) != name {
			t.Fatalf("read back %q %q, want %q", last.name, last.data, c)
		}
	})
}

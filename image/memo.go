package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// memo is a small JSON map persisted in the cache dir. It remembers
// expensive results (a file's sha256, apt's answer) under a key that
// changes whenever the input does (path+size+mtime, apt list stamps).
// Writers replace the file atomically; concurrent writers may lose an
// entry, never corrupt the file, and a lost entry is only recomputed.
type memo struct {
	path string
	mu   sync.Mutex
}

func (m *memo) load() map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(m.path)
	if err == nil {
		_ = json.Unmarshal(b, &out) // a damaged memo is an empty one
	}
	return out
}

func (m *memo) get(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.load()[key]
	return v, ok
}

func (m *memo) put(key, val string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := m.load()
	all[key] = val
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(m.path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(m.path), ".memo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), m.path)
}

// statKey identifies a file's content cheaply: path, size, mtime, inode.
func statKey(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s|%d|%d|%v", abs, fi.Size(), fi.ModTime().UnixNano(), inode(fi)), nil
}

// fileSHA256 returns the file's sha256, from the memo when the file's
// stat key is unchanged.
func (m *memo) fileSHA256(path string) (string, error) {
	key, err := statKey(path)
	if err != nil {
		return "", err
	}
	if v, ok := m.get("sha256:" + key); ok {
		return v, nil
	}
	sum, err := hashFile(path)
	if err != nil {
		return "", err
	}
	if err := m.put("sha256:"+key, sum); err != nil {
		return "", err
	}
	return sum, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dirStamp summarises the names, sizes and mtimes of a directory's files
// (not recursive): it changes when apt-get update rewrites its lists.
func dirStamp(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "missing"
	}
	h := sha256.New()
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Mode().IsRegular() {
			_, _ = fmt.Fprintf(h, "%s|%d|%d\n", n, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

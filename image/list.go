package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/smolvm/smolvm/internal/paths"
)

func imagesDir(cacheDir string) (string, error) {
	if cacheDir == "" {
		d, err := paths.Default()
		if err != nil {
			return "", err
		}
		cacheDir = d.Cache
	}
	return paths.Dirs{Cache: cacheDir}.Images(), nil
}

// List returns the cached images under cacheDir ("" for the default),
// newest first. Builds in progress and damaged entries are skipped.
func List(cacheDir string) ([]Image, error) {
	dir, err := imagesDir(cacheDir)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if img, err := readManifest(filepath.Join(dir, e.Name())); err == nil {
			out = append(out, img)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Remove deletes the cached image name (its name or full fingerprint)
// from cacheDir ("" for the default). It returns an error wrapping
// ErrNotFound when there is no such image. VMs whose disks are overlays on
// its rootfs stop working, so callers check for users first.
func Remove(cacheDir, name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("%w: image name %q", ErrInvalid, name)
	}
	dir, err := imagesDir(cacheDir)
	if err != nil {
		return err
	}
	if len(name) == 64 {
		name = name[:16]
	}
	target := filepath.Join(dir, name)
	if _, err := os.Stat(filepath.Join(target, ManifestFile)); err != nil {
		return fmt.Errorf("remove image %s: %w", name, ErrNotFound)
	}
	// Rename first so List never sees a half-deleted image.
	trash, err := os.MkdirTemp(dir, ".remove-")
	if err != nil {
		return err
	}
	if err := os.Rename(target, filepath.Join(trash, name)); err != nil {
		_ = os.Remove(trash)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove image %s: %w", name, ErrNotFound)
		}
		return err
	}
	return os.RemoveAll(trash)
}

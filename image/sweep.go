package image

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleAge is how old a leftover temp dir (from a builder that was killed)
// must be before another builder deletes it. No build takes this long.
const staleAge = 6 * time.Hour

// sweepStale removes .build-* and .remove-* dirs in the images dir that are
// older than age. Errors are ignored: the sweep only reclaims space.
func sweepStale(imagesDir string, age time.Duration, now time.Time) {
	ents, err := os.ReadDir(imagesDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		temp := strings.HasPrefix(name, ".build-") || strings.HasPrefix(name, ".remove-")
		if !e.IsDir() || !temp {
			continue
		}
		fi, err := e.Info()
		if err != nil || now.Sub(fi.ModTime()) < age {
			continue
		}
		_ = os.RemoveAll(filepath.Join(imagesDir, name))
	}
}

//go:build !linux

package image

import (
	"io/fs"
	"os"
)

func inode(fs.FileInfo) uint64 { return 0 }

func statOwner(fs.FileInfo) [2]int { return [2]int{-1, -1} }

func allocated(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

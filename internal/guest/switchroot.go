package guest

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/guest/cmdline"
)

const newRoot = "/newroot"

// inInitramfs reports whether / is the initramfs (ramfs or tmpfs): only
// then is there a root disk to mount and switch to. Booted straight from
// the disk (init=/sbin/smolvm-agent) the kernel mounted it already.
func inInitramfs() bool {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return false
	}
	return st.Type == unix.RAMFS_MAGIC || st.Type == unix.TMPFS_MAGIC
}

// waitForBlockDevice polls until dev exists as a block device.
func waitForBlockDevice(log *slog.Logger, dev string, limit time.Duration) error {
	start := time.Now()
	warned := false
	for {
		var st unix.Stat_t
		err := unix.Stat(dev, &st)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK {
			return nil
		}
		if err == nil {
			return fmt.Errorf("root %s: not a block device", dev)
		}
		if time.Since(start) > limit {
			return fmt.Errorf("root device %s did not appear within %v (driver module missing? root= wrong?)", dev, limit)
		}
		if !warned && time.Since(start) > time.Second {
			log.Info("waiting for root device", "dev", dev)
			warned = true
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mountRoot mounts the root disk on /newroot.
func mountRoot(b cmdline.Boot) error {
	var flags uintptr
	if b.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := os.MkdirAll(newRoot, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(b.Root, newRoot, b.RootFSType, flags, b.RootFlags); err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", b.Root, b.RootFSType, newRoot, err)
	}
	return nil
}

// switchRoot makes /newroot the root in this process, like busybox's
// switch_root but without exec'ing a second init: move /dev, /proc and
// /sys under it, free the initramfs, move the new root onto / and chroot.
func switchRoot(log *slog.Logger) error {
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		target := newRoot + d
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", target, err)
		}
		if err := unix.Mount(d, target, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move %s: %w", d, err)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err == nil {
		freed := removeSameDevice("/", st.Dev, map[string]bool{newRoot: true})
		log.Debug("initramfs freed", "files", freed)
	}
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("chdir %s: %w", newRoot, err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", newRoot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// removeSameDevice deletes the tree under dir that lives on device dev,
// never crossing into other mounts or the paths in keep, and returns how
// many entries it removed. Errors are ignored: freeing the initramfs only
// saves memory.
func removeSameDevice(dir string, dev uint64, keep map[string]bool) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if keep[p] {
			continue
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil || st.Dev != dev {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			n += removeSameDevice(p, dev, keep)
			if err := unix.Rmdir(p); err == nil || errors.Is(err, unix.ENOENT) {
				n++
			}
			continue
		}
		if unix.Unlink(p) == nil {
			n++
		}
	}
	return n
}

// remountRW makes a root the kernel mounted read-only writable, unless
// the command line asked for ro.
func remountRW(b cmdline.Boot) error {
	if b.ReadOnly {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil || st.Flags&unix.ST_RDONLY == 0 {
		return nil
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT, ""); err != nil {
		return fmt.Errorf("remount / rw: %w", err)
	}
	return nil
}

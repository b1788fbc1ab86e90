package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// rootFiles are the small text files of the rootfs.
var rootFiles = []struct {
	path string
	mode os.FileMode
	data string
}{
	{"etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"},
	{"etc/group", 0o644, "root:x:0:\nuser:x:1000:\n"},
	{"etc/shadow", 0o600, "root:*:1:0:99999:7:::\nuser:*:1:0:99999:7:::\n"},
	{"etc/profile", 0o644, profile},
	{"etc/hostname", 0o644, "smolvm\n"},
	{"etc/hosts", 0o644, "127.0.0.1\tlocalhost\n127.0.1.1\tsmolvm\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
	{"etc/resolv.conf", 0o644, "nameserver 10.0.2.3\n"},
	{"etc/shells", 0o644, "/bin/sh\n/bin/ash\n"},
}

// profile is /etc/profile: like Debian's, it sets PATH and PS1 and sources
// /etc/profile.d/*.sh, so `sh -l` sees the variables smolvm injects.
const profile = `# /etc/profile: system-wide settings for login shells (smolvm).
if [ "$(id -u)" -eq 0 ]; then
  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
else
  PATH="/usr/local/bin:/usr/bin:/bin"
fi
export PATH

if [ "${PS1-}" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    PS1='\h:\w# '
  else
    PS1='\u@\h:\w$ '
  fi
fi

if [ -d /etc/profile.d ]; then
  for i in /etc/profile.d/*.sh; do
    if [ -r "$i" ]; then
      . "$i"
    fi
  done
  unset i
fi
`

// rootDirs are the directories of the rootfs with their modes; owner uid.
var rootDirs = []struct {
	path string
	mode os.FileMode
	uid  int
}{
	{"bin", 0o755, 0}, {"sbin", 0o755, 0}, {"usr/bin", 0o755, 0}, {"usr/sbin", 0o755, 0},
	{"etc/profile.d", 0o755, 0}, {"etc/smolvm", 0o755, 0},
	{"tmp", 0o1777, 0}, {"root", 0o700, 0}, {"home/user", 0o755, 1000},
	{"var/empty", 0o755, 0}, {"var/tmp", 0o1777, 0}, {"run", 0o755, 0},
	{"proc", 0o555, 0}, {"sys", 0o555, 0}, {"dev", 0o755, 0}, {"mnt", 0o755, 0},
}

// stageRootfs writes the rootfs tree into dir and returns the ownership
// each path must have in the image (everything else is root's).
func stageRootfs(dir, busybox, agent string, applets []string) (map[string]int, error) {
	owners := map[string]int{}
	for _, d := range rootDirs {
		p := filepath.Join(dir, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
		// Chmod after MkdirAll: the umask must not weaken 1777 or 0700.
		if err := os.Chmod(p, d.mode|modeBits(d.mode)); err != nil {
			return nil, err
		}
		if d.uid != 0 {
			owners["/"+d.path] = d.uid
		}
	}
	for _, f := range rootFiles {
		if err := os.WriteFile(filepath.Join(dir, f.path), []byte(f.data), f.mode); err != nil {
			return nil, err
		}
		if err := os.Chmod(filepath.Join(dir, f.path), f.mode); err != nil {
			return nil, err
		}
	}
	if err := copyFile(busybox, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return nil, err
	}
	if err := copyFile(agent, filepath.Join(dir, "sbin", AgentName), 0o755); err != nil {
		return nil, err
	}
	for _, a := range applets {
		p := filepath.Join(dir, a)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.Symlink("/bin/busybox", p); err != nil && !os.IsExist(err) {
			return nil, err
		}
	}
	return owners, nil
}

// modeBits converts the Unix 01000 sticky bit in a literal mode to Go's.
func modeBits(m os.FileMode) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, mode); err != nil { //nolint:gosec // dst is built from the staging dir, not from input
		return err
	}
	return os.Chmod(dst, mode)
}

// makeExt4 creates a sparse file of sizeMiB and formats it as ext4 holding
// the staged tree, then fixes ownership with debugfs: mke2fs -d copies the
// builder's uid/gid, which are not root's when the builder is not root.
func makeExt4(ctx context.Context, dst, staged string, sizeMiB int, owners map[string]int) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644) //nolint:gosec // image files are world-readable
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(sizeMiB) << 20); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if _, err := runTool(ctx, "", "mke2fs", "-t", "ext4", "-d", staged, "-F", "-q",
		"-E", "root_owner=0:0", "-L", "smolvm-root", dst); err != nil {
		return err
	}
	var cmds strings.Builder
	err = filepath.Walk(staged, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(staged, p)
		if err != nil || rel == "." {
			return err
		}
		name := "/" + filepath.ToSlash(rel)
		uid := owners[name]
		if st := statOwner(fi); st == [2]int{uid, uid} {
			return nil // already right (the builder is root)
		}
		fmt.Fprintf(&cmds, "sif %s uid %d\nsif %s gid %d\n", name, uid, name, uid)
		return nil
	})
	if err != nil {
		return err
	}
	if cmds.Len() == 0 {
		return nil
	}
	script := dst + ".debugfs"
	if err := os.WriteFile(script, []byte(cmds.String()), 0o600); err != nil {
		return err
	}
	defer func() { _ = os.Remove(script) }()
	_, err = runTool(ctx, "", "debugfs", "-w", "-f", script, dst)
	return err
}

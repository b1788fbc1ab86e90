package firecracker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
)

// Launch is how one VM's firecracker process is started: its argv and
// every file both as the host sees it and as firecracker sees it (they
// differ only under the jailer's chroot).
type Launch struct {
	Argv []string // program first

	APIHost   string // API socket, host view
	VsockHost string // vsock unix socket, host view
	ChrootDir string // the jail's root, "" without jailer

	// Firecracker's view of its files.
	Kernel, Initrd, Disk, Vsock, Log, Metrics string
	// LogViaAPI is true when the logger and metrics are configured with
	// PUT /logger and PUT /metrics (under the jailer) instead of flags.
	LogViaAPI bool
}

var jailID = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// Plan computes the Launch for spec: without jailer, the per-VM layout
// from internal/paths; with it, files inside
// <ChrootBase>/firecracker/<id>/root. Every socket path is checked
// against the unix socket length limit.
func (b *Backend) Plan(spec hypervisor.Spec) (Launch, error) {
	vm := paths.VM{Dir: spec.Dir}
	if b.jailer == nil {
		l := Launch{
			APIHost: vm.API(), VsockHost: vm.Vsock(),
			Kernel: spec.Kernel, Initrd: spec.Initrd, Disk: spec.Disk,
			Vsock: vm.Vsock(), Log: vm.VMMLog(), Metrics: vm.Metrics(),
		}
		l.Argv = []string{b.fc, "--api-sock", l.APIHost, "--log-path", l.Log, "--level", b.logLevel,
			"--metrics-path", l.Metrics}
		return l, checkSockets(l)
	}
	j := b.jailer
	if !jailID.MatchString(spec.ID) {
		return Launch{}, fmt.Errorf("%w: ID %q: the jailer needs 1-64 letters, digits or '-'", ErrInvalidSpec, spec.ID)
	}
	fc, err := exec.LookPath(b.fc)
	if err != nil {
		return Launch{}, fmt.Errorf("%w: %s not found: %w", hypervisor.ErrUnavailable, b.fc, err)
	}
	if fc, err = filepath.Abs(fc); err != nil {
		return Launch{}, err
	}
	base := j.ChrootBase
	if base == "" {
		base = "/srv/jailer"
	}
	prog := j.Program
	if prog == "" {
		prog = "jailer"
	}
	root := filepath.Join(base, filepath.Base(fc), spec.ID, "root")
	l := Launch{
		APIHost: filepath.Join(root, "api.sock"), VsockHost: filepath.Join(root, "vsock.sock"), ChrootDir: root,
		Kernel: "/vmlinux", Disk: "/rootfs.img", Vsock: "/vsock.sock", Log: "/vmm.log", Metrics: "/metrics.json",
		LogViaAPI: true,
	}
	if spec.Initrd != "" {
		l.Initrd = "/initrd.img"
	}
	l.Argv = []string{prog, "--id", spec.ID, "--exec-file", fc,
		"--uid", strconv.Itoa(j.UID), "--gid", strconv.Itoa(j.GID), "--chroot-base-dir", base,
		"--", "--api-sock", "/api.sock"}
	return l, checkSockets(l)
}

func checkSockets(l Launch) error {
	for _, s := range []string{l.APIHost, l.VsockHost} {
		if err := paths.CheckSocket(s); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
		}
	}
	return nil
}

// linkIntoJail hard-links (or copies, across filesystems) the VM's files
// into the jail and hands them, and the log files, to the jail's user.
func (b *Backend) linkIntoJail(spec hypervisor.Spec, l Launch) error {
	pairs := [][2]string{{spec.Kernel, l.Kernel}, {spec.Disk, l.Disk}}
	if spec.Initrd != "" {
		pairs = append(pairs, [2]string{spec.Initrd, l.Initrd})
	}
	for _, p := range pairs {
		dst := filepath.Join(l.ChrootDir, p[1])
		_ = os.Remove(dst)
		if err := os.Link(p[0], dst); err != nil {
			if _, err := CopyDisk(context.Background(), p[0], dst); err != nil {
				return fmt.Errorf("jail %s: %w", p[0], err)
			}
		}
		if err := os.Chown(dst, b.jailer.UID, b.jailer.GID); err != nil {
			return err
		}
	}
	for _, f := range []string{l.Log, l.Metrics} {
		dst := filepath.Join(l.ChrootDir, f)
		if err := touch(dst); err != nil {
			return err
		}
		if err := os.Chown(dst, b.jailer.UID, b.jailer.GID); err != nil {
			return err
		}
	}
	return nil
}

// touch creates path if missing, leaving existing content.
func touch(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) //nolint:gosec // per-VM path
	if err != nil {
		return err
	}
	return f.Close()
}

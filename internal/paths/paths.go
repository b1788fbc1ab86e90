// Package paths is the one place that defines smolvm's on-disk layout: the
// data dir (state database, per-VM directories, the installation SSH key)
// and the cache dir (built images, downloaded packages).
//
// Layout under the data dir:
//
//	smolvm.db            state database (SQLite), with smolvm.db.lock
//	ssh/id_ed25519       per-installation client key (and .pub)
//	vms/<id>/            one directory per VM (see VM)
//
// Layout under the cache dir:
//
//	images/<name>/         built images (vmlinuz, initrd.img, rootfs.ext4, manifest.json);
//	                       <name> is the first 16 hex digits of the fingerprint
//	debs/                  downloaded distribution packages
//	busybox/               busybox-static unpacked, when the host's busybox is dynamic
//	agent/                 guest agent binaries built from source
//	memo.json              remembered file hashes and apt answers (cache-hit speed)
package paths

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// MaxSocketPath is the longest path a unix socket may have on Linux
// (sizeof(sun_path) minus the terminating NUL).
const MaxSocketPath = 107

// Dirs holds the two roots of the layout.
type Dirs struct {
	Data  string
	Cache string
}

// Default resolves the roots: SMOLVM_DATA_DIR, else $XDG_STATE_HOME/smolvm,
// else ~/.local/state/smolvm; SMOLVM_CACHE_DIR, else $XDG_CACHE_HOME/smolvm,
// else ~/.cache/smolvm. This is the only place smolvm reads these variables.
func Default() (Dirs, error) {
	data, err := resolve("SMOLVM_DATA_DIR", "XDG_STATE_HOME", filepath.Join(".local", "state"))
	if err != nil {
		return Dirs{}, err
	}
	cache, err := resolve("SMOLVM_CACHE_DIR", "XDG_CACHE_HOME", ".cache")
	if err != nil {
		return Dirs{}, err
	}
	return Dirs{Data: data, Cache: cache}, nil
}

func resolve(own, xdg, homeRel string) (string, error) {
	if v := os.Getenv(own); v != "" {
		if !filepath.IsAbs(v) {
			return "", fmt.Errorf("%s=%q must be an absolute path", own, v)
		}
		return filepath.Clean(v), nil
	}
	if v := os.Getenv(xdg); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "smolvm"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot locate home directory (set %s): %w", own, err)
	}
	return filepath.Join(home, homeRel, "smolvm"), nil
}

// DB is the state database path.
func (d Dirs) DB() string { return filepath.Join(d.Data, "smolvm.db") }

// SSHKey is the per-installation private key; the public key is SSHKey()+".pub".
func (d Dirs) SSHKey() string { return filepath.Join(d.Data, "ssh", "id_ed25519") }

// VMsDir holds one directory per VM.
func (d Dirs) VMsDir() string { return filepath.Join(d.Data, "vms") }

// Images is where built images are cached, one directory per fingerprint.
func (d Dirs) Images() string { return filepath.Join(d.Cache, "images") }

// Debs is where downloaded distribution packages are kept.
func (d Dirs) Debs() string { return filepath.Join(d.Cache, "debs") }

// Agent is where guest agent binaries built from source are cached.
func (d Dirs) Agent() string { return filepath.Join(d.Cache, "agent") }

// VM returns the layout of one VM's directory.
func (d Dirs) VM(id string) VM { return VM{Dir: filepath.Join(d.VMsDir(), id)} }

// VM is the layout of one VM's directory.
type VM struct{ Dir string }

// Disk is the VM's own disk (a qcow2 overlay or a copy of the base image).
func (v VM) Disk() string { return filepath.Join(v.Dir, "disk.img") }

// SerialLog is the guest's serial console output.
func (v VM) SerialLog() string { return filepath.Join(v.Dir, "serial.log") }

// VMMLog is the hypervisor process's own stdout/stderr.
func (v VM) VMMLog() string { return filepath.Join(v.Dir, "vmm.log") }

// QMP is QEMU's control socket.
func (v VM) QMP() string { return filepath.Join(v.Dir, "qmp.sock") }

// API is Firecracker's API socket.
func (v VM) API() string { return filepath.Join(v.Dir, "fc.sock") }

// Vsock is Firecracker's host side vsock unix socket.
func (v VM) Vsock() string { return filepath.Join(v.Dir, "vsock.sock") }

// Metrics is Firecracker's metrics file.
func (v VM) Metrics() string { return filepath.Join(v.Dir, "metrics.json") }

// HostKey is the pinned guest host key (authorized_keys format), once seen.
func (v VM) HostKey() string { return filepath.Join(v.Dir, "hostkey.pub") }

// PIDFile holds the hypervisor PID (informational; the store is authoritative).
func (v VM) PIDFile() string { return filepath.Join(v.Dir, "vmm.pid") }

// ErrSocketPathTooLong is returned by CheckSocket.
var ErrSocketPathTooLong = errors.New("unix socket path too long")

// CheckSocket reports an error naming the path when it cannot be bound as
// a unix socket because it is longer than MaxSocketPath bytes.
func CheckSocket(path string) error {
	if len(path) > MaxSocketPath {
		return fmt.Errorf("%w: %q is %d bytes, the limit is %d (use a shorter SMOLVM_DATA_DIR)",
			ErrSocketPathTooLong, path, len(path), MaxSocketPath)
	}
	return nil
}

// Sockets lists every unix socket path of the VM layout, to check up front.
func (v VM) Sockets() []string {
	return []string{v.QMP(), v.API(), v.Vsock()}
}

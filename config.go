package smolvm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/smolvm/smolvm/env"
)

// SSHBootArgs is the kernel command line for images smolvm builds: serial
// console (where the guest agent prints its host key and boot milestones),
// a quiet kernel, and an immediate reboot on panic, which ends the
// hypervisor process (smolvm never lets a guest reboot), so a failed boot
// fails fast. smolvm appends the per-VM parameters (authorized key,
// hostname) itself.
const SSHBootArgs = "console=ttyS0 quiet panic=-1 reboot=t"

// Limits and defaults for Config.
const (
	DefaultVCPUs     = 2
	MinVCPUs         = 1
	MaxVCPUs         = 32
	DefaultMemoryMiB = 512
	MinMemoryMiB     = 128
	MaxMemoryMiB     = 16384
)

// DiskMode says how a VM's disk relates to the image's root filesystem.
type DiskMode string

const (
	// DiskIsolated (the default) gives each VM its own copy-on-write disk;
	// the image is never written.
	DiskIsolated DiskMode = "isolated"
	// DiskShared boots from the root filesystem file itself: changes persist
	// in it and two VMs must not share it at once. It needs an explicit
	// RootfsPath: the cached default image is never written.
	DiskShared DiskMode = "shared"
)

// Network modes.
const (
	// NetworkUser is user-mode networking (QEMU slirp, or vsock only on
	// Firecracker): no root needed; SSH reaches the guest through 127.0.0.1.
	NetworkUser = ""
	// NetworkTAP gives the guest a TAP device with NAT (needs root).
	NetworkTAP = "tap"
)

// Config describes a VM. The zero Config is valid: New then builds (once)
// and uses smolvm's default image with 1 vCPU and 512 MiB.
type Config struct {
	// ID names the VM: lowercase letters, digits, '-' and '_', 1-64 chars,
	// starting and ending with a letter or digit. Empty: "vm-" + 8 hex.
	ID string
	// VCPUs is 1..32; 0 means the default (2, or 1 with auto-config).
	VCPUs int
	// MemoryMiB is 128..16384; 0 means 512.
	MemoryMiB int
	// KernelPath, InitrdPath and RootfsPath locate the image. All empty
	// means smolvm's default image (built on first use). When KernelPath is
	// set RootfsPath must be too; InitrdPath is optional.
	KernelPath string
	InitrdPath string
	RootfsPath string
	// BootArgs is the kernel command line; empty means SSHBootArgs.
	BootArgs string
	// Backend is "qemu", "firecracker" or "" (auto: firecracker where its
	// binary and a usable KVM exist, else qemu).
	Backend string
	// DiskMode is DiskIsolated (default) or DiskShared.
	DiskMode DiskMode
	// Network is NetworkUser (default) or NetworkTAP.
	Network string
	// Env is injected into the guest's env file once it answers, before
	// New returns; a failure stops the VM and New returns the error.
	Env map[string]string
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}[a-z0-9]$|^[a-z0-9]$`)

// ValidateID reports whether id is a valid VM ID.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return invalid("Config.ID", "%q must be 1-64 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit", id)
	}
	return nil
}

// autoImage reports whether the config asks for smolvm's default image.
func (c Config) autoImage() bool {
	return c.KernelPath == "" && c.RootfsPath == "" && c.InitrdPath == ""
}

// withDefaults fills zero fields. It never touches paths (the default image
// is resolved later, after validation).
func (c Config) withDefaults() (Config, error) {
	if c.ID == "" {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			return c, fmt.Errorf("generate id: %w", err)
		}
		c.ID = "vm-" + hex.EncodeToString(b)
	}
	if c.VCPUs == 0 {
		c.VCPUs = DefaultVCPUs
		if c.autoImage() {
			c.VCPUs = 1
		}
	}
	if c.MemoryMiB == 0 {
		c.MemoryMiB = DefaultMemoryMiB
	}
	if c.BootArgs == "" {
		c.BootArgs = SSHBootArgs
	}
	if c.DiskMode == "" {
		c.DiskMode = DiskIsolated
	}
	if c.Env != nil {
		c.Env = cloneMap(c.Env)
	}
	return c, nil
}

// Validate checks every field and returns the first problem as a
// *ValidationError naming the field. Nothing is created before it passes.
func (c Config) Validate() error {
	if err := ValidateID(c.ID); err != nil {
		return err
	}
	if c.VCPUs < MinVCPUs || c.VCPUs > MaxVCPUs {
		return invalid("Config.VCPUs", "must be between %d and %d, got %d", MinVCPUs, MaxVCPUs, c.VCPUs)
	}
	if c.MemoryMiB < MinMemoryMiB || c.MemoryMiB > MaxMemoryMiB {
		return invalid("Config.MemoryMiB", "must be between %d and %d MiB, got %d", MinMemoryMiB, MaxMemoryMiB, c.MemoryMiB)
	}
	if !c.autoImage() {
		if c.KernelPath == "" {
			return invalid("Config.KernelPath", "is required when RootfsPath or InitrdPath is set")
		}
		if c.RootfsPath == "" {
			return invalid("Config.RootfsPath", "is required when KernelPath is set")
		}
		for _, f := range []struct{ field, path string }{
			{"Config.KernelPath", c.KernelPath},
			{"Config.InitrdPath", c.InitrdPath},
			{"Config.RootfsPath", c.RootfsPath},
		} {
			if f.path == "" {
				continue
			}
			st, err := os.Stat(f.path)
			if err != nil {
				return &ValidationError{Field: f.field, Msg: fmt.Sprintf("%q: %v", f.path, errors.Unwrap(err)), Err: err}
			}
			if !st.Mode().IsRegular() {
				return invalid(f.field, "%q is not a regular file", f.path)
			}
		}
	}
	if strings.ContainsAny(c.BootArgs, "\x00\n") {
		return invalid("Config.BootArgs", "must be one line without NUL")
	}
	switch c.Backend {
	case "", "qemu", "firecracker":
	default:
		return invalid("Config.Backend", "%q is not one of qemu, firecracker", c.Backend)
	}
	switch c.DiskMode {
	case "", DiskIsolated, DiskShared:
	default:
		return invalid("Config.DiskMode", "%q is not one of isolated, shared", c.DiskMode)
	}
	if c.DiskMode == DiskShared && c.autoImage() {
		// The cached default image is every later VM's base: a guest must
		// never write to it.
		return invalid("Config.DiskMode", "shared needs your own RootfsPath: the default image is never written")
	}
	switch c.Network {
	case NetworkUser, NetworkTAP:
	default:
		return invalid("Config.Network", "%q is not one of \"\" (user), tap", c.Network)
	}
	if err := env.Validate(c.Env); err != nil {
		return &ValidationError{Field: "Config.Env", Err: err}
	}
	if err := checkReserved("Config.Env", c.Env); err != nil {
		return err
	}
	return nil
}

// CanRunCommands reports whether smolvm can reach a VM booted from this
// config over SSH: its boot arguments keep the serial console smolvm reads
// the guest's host key from (SSHBootArgs does).
func (c Config) CanRunCommands() bool {
	args := c.BootArgs
	if args == "" {
		args = SSHBootArgs
	}
	return strings.Contains(" "+args+" ", " console=ttyS0 ")
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

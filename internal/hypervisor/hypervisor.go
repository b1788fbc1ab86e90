// Package hypervisor is the small interface every VM backend implements
// (qemu/ and firecracker/), and the transport the host uses to reach the
// guest's SSH server.
//
// A backend is stateless: everything needed to reach or stop a running VM
// lives in a Handle, which the caller stores (internal/store) so another
// process can Attach later. A backend never outlives its process in memory.
package hypervisor

import (
	"context"
	"errors"
	"time"
)

// Spec is everything a backend needs to boot one VM. The caller has
// validated it and created Dir.
type Spec struct {
	ID        string
	Dir       string // per-VM directory (layout: internal/paths.VM)
	Kernel    string // kernel image (bzImage for QEMU, ELF vmlinux for Firecracker)
	Initrd    string // optional initrd
	Disk      string // the VM's own disk, made by PrepareDisk
	VCPUs     int
	MemoryMiB int
	Cmdline   string // kernel command line; the backend may append its own console= and ip=
	// SSHPort is the host port on 127.0.0.1 forwarded to the guest's port 22
	// (user-mode networking). Zero for backends that reach the guest over vsock.
	SSHPort int
	// Network selects the guest network: "" (backend default) or "tap".
	Network string
	// TAP, when Network is "tap", names the host TAP device already created.
	TAP string
	// GuestMAC is the guest NIC MAC address when Network is "tap".
	GuestMAC string
	// Detach makes the hypervisor process outlive the caller (new session, no
	// parent-death signal). When false the process is killed if the caller dies
	// (one-shot runs).
	Detach bool
}

// Transport says how the host reaches the guest's SSH server.
type Transport struct {
	// Kind is "tcp" (Addr is host:port) or "vsock" (Path is Firecracker's
	// host-side vsock socket, Port the guest vsock port).
	Kind string `json:"kind"`
	Addr string `json:"addr,omitempty"`
	Path string `json:"path,omitempty"`
	Port uint32 `json:"port,omitempty"`
}

// Handle identifies a running VM's hypervisor process. It is plain data,
// stored by the caller and handed back to the backend for later calls.
type Handle struct {
	Backend string `json:"backend"`
	PID     int    `json:"pid"`
	// StartTime is the process start time in clock ticks since boot
	// (/proc/PID/stat field 22); a PID whose start time differs is another
	// process and is never signalled.
	StartTime uint64    `json:"start_time"`
	Control   string    `json:"control"` // QMP or Firecracker API socket
	Transport Transport `json:"transport"`
	Accel     string    `json:"accel"` // "kvm" or "tcg"
}

// DiskMode says how a VM's disk relates to the base image.
type DiskMode string

const (
	// DiskIsolated gives each VM a copy-on-write disk over the base image.
	DiskIsolated DiskMode = "isolated"
	// DiskShared boots from the base image itself; writes change it.
	DiskShared DiskMode = "shared"
)

// Backend launches and controls VMs of one hypervisor.
type Backend interface {
	// Name is "qemu" or "firecracker".
	Name() string
	// Check reports nil when the backend can run VMs on this host, else an
	// error saying what is missing and how to fix it.
	Check(ctx context.Context) error
	// Accel is the accelerator Start will use ("kvm" or "tcg") and, when it
	// is not KVM, why.
	Accel() (accel string, why string)
	// PrepareDisk makes the VM's own disk at dst from base: a copy-on-write
	// overlay for DiskIsolated; for DiskShared it may return base itself.
	// It returns the path Spec.Disk must use.
	PrepareDisk(ctx context.Context, base, dst string, mode DiskMode) (string, error)
	// Start launches the hypervisor process and returns once the VMM runs
	// (not when the guest is ready). On error nothing is left running.
	Start(ctx context.Context, spec Spec) (Handle, error)
	// Stop stops the VM: graceful power-off, wait up to timeout, then kill,
	// then verify the process is gone. Stopping a stopped VM returns nil.
	Stop(ctx context.Context, h Handle, timeout time.Duration) error
	// Alive reports whether the handle's process still runs (same PID and
	// start time).
	Alive(h Handle) bool
}

// Pauser is implemented by backends that can pause and resume a VM.
type Pauser interface {
	Pause(ctx context.Context, h Handle) error
	Resume(ctx context.Context, h Handle) error
}

// ErrUnavailable is wrapped by Check and Start when the backend cannot run here.
var ErrUnavailable = errors.New("hypervisor unavailable")

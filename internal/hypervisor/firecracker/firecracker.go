// Package firecracker is smolvm's Firecracker backend: it implements
// hypervisor.Backend and hypervisor.Pauser by owning a `firecracker
// --api-sock` process per VM (optionally under the jailer) and driving its
// HTTP API (internal/firecracker/api) directly. The guest's SSH server is
// reached over Firecracker's hybrid vsock socket (no root needed); TAP
// networking (internal/network) is an option for root.
//
// Like the QEMU backend it keeps no state: a running VM is described by
// the hypervisor.Handle Start returns, so any process can Stop it later.
package firecracker

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// Name is the backend name in handles and configuration.
const Name = "firecracker"

// GuestSSHPort is the guest vsock port the agent serves SSH on.
const GuestSSHPort = 22

// DefaultGuestCID is the guest's vsock context id. Firecracker implements
// vsock itself (no vhost), so every VM can use the same CID.
const DefaultGuestCID = 3

// Errors Start and Stop wrap.
var (
	// ErrInvalidSpec is wrapped when a Spec field is unusable; the message
	// names the field.
	ErrInvalidSpec = errors.New("invalid vm spec")
	// ErrExited is wrapped when firecracker exits before its API answers
	// or while it is being configured; the message carries the log tails.
	ErrExited = errors.New("firecracker exited during start")
	// ErrSocketTimeout is wrapped when the API socket does not answer in time.
	ErrSocketTimeout = errors.New("firecracker API socket did not appear")
	// ErrStillRunning is wrapped when Stop could not verify the process gone.
	ErrStillRunning = errors.New("firecracker still running")
)

// Options configures a Backend. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Firecracker is the program to run; empty means "firecracker" on PATH.
	Firecracker string
	// Jailer, when non-nil, runs firecracker under the jailer.
	Jailer *Jailer
	// SocketTimeout bounds the wait for the API socket; zero means 10s.
	SocketTimeout time.Duration
	// LogLevel is Firecracker's log level; empty means "Info".
	LogLevel string
	// GuestCID is the vsock CID; zero means DefaultGuestCID.
	GuestCID uint32
}

// Jailer configures running firecracker under Firecracker's jailer (root
// only): it chroots to <ChrootBase>/firecracker/<vm id>/root, drops to
// UID/GID and execs firecracker in place (same PID). The kernel, initrd and
// disk are hard-linked into the chroot.
type Jailer struct {
	// Program is the jailer binary; empty means "jailer" on PATH.
	Program string
	UID     int
	GID     int
	// ChrootBase is the jailer's --chroot-base-dir; empty means /srv/jailer.
	ChrootBase string
}

// Backend runs VMs with Firecracker. It is safe for concurrent use.
type Backend struct {
	log           *slog.Logger
	fc            string
	jailer        *Jailer
	socketTimeout time.Duration
	logLevel      string
	cid           uint32
	// kvm reports KVM usability; replaced in tests.
	kvm func() (bool, string)
}

var (
	_ hypervisor.Backend = (*Backend)(nil)
	_ hypervisor.Pauser  = (*Backend)(nil)
)

// New returns a Firecracker backend. It starts and checks nothing: call
// Check to learn whether the host can run VMs.
func New(opts Options) *Backend {
	b := &Backend{
		log:           opts.Logger,
		fc:            opts.Firecracker,
		jailer:        opts.Jailer,
		socketTimeout: opts.SocketTimeout,
		logLevel:      opts.LogLevel,
		cid:           opts.GuestCID,
		kvm:           HostKVM,
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if b.fc == "" {
		b.fc = "firecracker"
	}
	if b.socketTimeout <= 0 {
		b.socketTimeout = 10 * time.Second
	}
	if b.logLevel == "" {
		b.logLevel = "Info"
	}
	if b.cid == 0 {
		b.cid = DefaultGuestCID
	}
	return b
}

// Name is "firecracker".
func (b *Backend) Name() string { return Name }

// Accel is always "kvm" (Firecracker has no emulation); why says what is
// wrong when KVM is not usable here.
func (b *Backend) Accel() (accel, why string) {
	ok, why := b.kvm()
	if ok {
		return "kvm", ""
	}
	return "kvm", why
}

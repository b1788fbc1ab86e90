// Package qemu is smolvm's QEMU backend: it implements hypervisor.Backend
// with qemu-system-x86_64 (KVM when the host can run guests with it, else
// TCG emulation), user-mode networking with the guest's SSH port forwarded
// to 127.0.0.1 only, a qcow2 overlay disk per VM, the serial console in a
// per-VM log file and a QMP socket for graceful power-off.
//
// The backend keeps no state of its own: a running VM is described by the
// hypervisor.Handle that Start returns, so any process can Stop it later.
package qemu

import (
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// Name is the backend name in handles and configuration.
const Name = "qemu"

// Options configures a Backend. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// QEMU and QEMUImg are the programs to run; empty means
	// "qemu-system-x86_64" and "qemu-img" looked up on PATH.
	QEMU, QEMUImg string
	// Accel forces "kvm" or "tcg"; empty detects it (see DetectAccel).
	Accel string
	// StartTimeout bounds how long Start waits for QEMU's QMP socket to
	// greet; zero means 30s. The caller's context can shorten it.
	StartTimeout time.Duration
}

// Backend runs VMs with QEMU. It is safe for concurrent use.
type Backend struct {
	log          *slog.Logger
	qemu         string
	qemuImg      string
	forceAccel   string
	startTimeout time.Duration
	quitWait     time.Duration

	accelOnce sync.Once
	accelWarn sync.Once
	accel     string
	accelWhy  string
}

var _ hypervisor.Backend = (*Backend)(nil)

// New returns a QEMU backend. It starts nothing and checks nothing: call
// Check to learn whether the host can run VMs.
func New(opts Options) *Backend {
	b := &Backend{
		log:          opts.Logger,
		qemu:         opts.QEMU,
		qemuImg:      opts.QEMUImg,
		forceAccel:   opts.Accel,
		startTimeout: opts.StartTimeout,
		quitWait:     defaultQuitWait,
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if b.qemu == "" {
		b.qemu = "qemu-system-x86_64"
	}
	if b.qemuImg == "" {
		b.qemuImg = "qemu-img"
	}
	if b.startTimeout <= 0 {
		b.startTimeout = 30 * time.Second
	}
	return b
}

// Name returns "qemu".
func (b *Backend) Name() string { return Name }

// Accel returns the accelerator Start uses ("kvm" or "tcg") and, for TCG,
// the one-line reason. It probes the host once and caches the answer.
func (b *Backend) Accel() (accel, why string) {
	b.accelOnce.Do(func() {
		switch b.forceAccel {
		case AccelKVM:
			b.accel, b.accelWhy = AccelKVM, ""
		case AccelTCG:
			b.accel, b.accelWhy = AccelTCG, "TCG forced by configuration, using TCG emulation (slow)"
		default:
			b.accel, b.accelWhy = DetectAccel(HostAccelInputs())
		}
	})
	return b.accel, b.accelWhy
}

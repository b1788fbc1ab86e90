// Package image builds smolvm's guest image locally: a stock Debian kernel,
// an initrd holding the guest agent as /init and the virtio modules the
// kernel needs (see docs/guest.md), and an ext4 root filesystem with
// busybox and the agent, made with mke2fs -d (no root, no loop mounts).
// Images are cached under the cache dir keyed by a fingerprint of every
// input, and built in a temp dir renamed into place, so a repeated build is
// a cache hit and concurrent builds never corrupt the cache.
package image

import (
	"errors"
	"log/slog"
	"time"

	"github.com/smolvm/smolvm/internal/paths"
)

// File names inside an image directory.
const (
	KernelFile   = "vmlinuz"
	InitrdFile   = "initrd.img"
	RootfsFile   = "rootfs.ext4"
	ManifestFile = "manifest.json"
)

// Image is a built image. Paths are absolute.
type Image struct {
	Name           string    `json:"name"`                     // directory name under images/
	Dir            string    `json:"-"`                        // the image directory
	Kernel         string    `json:"-"`                        // bzImage the hypervisor boots
	Initrd         string    `json:"-"`                        // gzip-compressed newc cpio
	Rootfs         string    `json:"-"`                        // sparse ext4 image
	Fingerprint    string    `json:"fingerprint"`              // sha256 (hex) over every input
	KernelPackage  string    `json:"kernel_package,omitempty"` // "name=version" when from apt
	KernelVersion  string    `json:"kernel_version"`           // uname -r of the kernel
	BusyboxVersion string    `json:"busybox_version"`          // e.g. "1.35.0 (Debian 1:1.35.0-4)"
	AgentSHA256    string    `json:"agent_sha256"`             // sha256 of /init and /sbin/smolvm-agent
	Modules        []string  `json:"modules"`                  // initrd module paths in load order
	Size           int64     `json:"size"`                     // bytes allocated on disk by the image's files
	Created        time.Time `json:"created"`                  // when the build finished (UTC)
}

// Event reports build progress. The library never prints; a CLI renders
// these. Bytes is a size in bytes where the step has one (download,
// initrd, rootfs), otherwise 0.
type Event struct {
	Step   Step
	Detail string
	Bytes  int64
	Cached bool // the step's result came from the cache
}

// Step names a build phase.
type Step string

// Build steps, in the order they are reported.
const (
	StepResolveKernel Step = "resolve-kernel"
	StepAgent         Step = "agent" // building the agent from source
	StepDownload      Step = "download"
	StepExtract       Step = "extract"
	StepModules       Step = "modules"
	StepInitrd        Step = "initrd"
	StepRootfs        Step = "rootfs"
	StepDone          Step = "done"
)

// Errors.
var (
	// ErrNotFound is returned by Remove for an image that is not cached.
	ErrNotFound = errors.New("image not found")
	// ErrInvalid wraps validation errors (it names the field).
	ErrInvalid = errors.New("invalid image option")
	// ErrTool is returned when a host tool (apt-get, mke2fs, ...) fails.
	ErrTool = errors.New("host tool failed")
)

// DefaultKernelPackage is the Debian metapackage resolved with apt-cache.
const DefaultKernelPackage = "linux-image-cloud-amd64"

// DefaultRootfsMiB is the default (sparse) rootfs size.
const DefaultRootfsMiB = 512

// DefaultModules are the modules the initrd carries (with their
// dependencies), as docs/guest.md lists. button and evdev let the agent see
// the ACPI power button, so a hypervisor's graceful power-down (QEMU's
// system_powerdown) powers the guest off cleanly.
var DefaultModules = []string{
	"virtio", "virtio_ring", "virtio_pci", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
	"virtio_mmio", "virtio_blk", "virtio_net", "net_failover", "failover", "virtio_rng",
	"vsock", "vmw_vsock_virtio_transport", "vmw_vsock_virtio_transport_common",
	"button", "evdev",
}

// Option configures a Builder.
type Option func(*Builder)

// WithCacheDir sets the cache root (images/, debs/, agent/ live below it).
func WithCacheDir(dir string) Option { return func(b *Builder) { b.cacheDir = dir } }

// WithDebsDir sets where downloaded packages are kept (default: the
// cache dir's debs/), e.g. to share downloads between caches.
func WithDebsDir(dir string) Option { return func(b *Builder) { b.debs = dir } }

// WithKernelPackage resolves another Debian kernel (meta)package.
func WithKernelPackage(name string) Option { return func(b *Builder) { b.kernelPkg = name } }

// WithKernelDeb uses a local kernel .deb instead of downloading one.
func WithKernelDeb(path string) Option { return func(b *Builder) { b.kernelDeb = path } }

// WithKernel uses a kernel image file and its modules directory
// (lib/modules/<version>, whose base name is the kernel version).
func WithKernel(kernel, modulesDir string) Option {
	return func(b *Builder) { b.kernelFile, b.modulesDir = kernel, modulesDir }
}

// WithModules replaces DefaultModules.
func WithModules(names ...string) Option {
	return func(b *Builder) { b.modules = append([]string(nil), names...) }
}

// WithAgent sets the guest agent binary (a static Linux executable).
func WithAgent(path string) Option { return func(b *Builder) { b.agent = path } }

// WithBusybox sets the busybox binary (must be static).
func WithBusybox(path string) Option { return func(b *Builder) { b.busybox = path } }

// WithRootfsMiB sets the rootfs size in MiB (sparse).
func WithRootfsMiB(n int) Option { return func(b *Builder) { b.rootfsMiB = n } }

// WithProgress sets the function that receives progress events. It is
// called from the building goroutine and must not block for long.
func WithProgress(fn func(Event)) Option { return func(b *Builder) { b.progress = fn } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(b *Builder) { b.log = l } }

// Builder builds images. It holds only configuration; Build may be called
// concurrently, also from several processes sharing a cache dir.
type Builder struct {
	cacheDir   string
	debs       string
	kernelPkg  string
	kernelDeb  string
	kernelFile string
	modulesDir string
	modules    []string
	agent      string
	busybox    string
	rootfsMiB  int
	progress   func(Event)
	log        *slog.Logger
}

// NewBuilder returns a Builder with the defaults: cache dir from
// internal/paths, the Debian cloud kernel, DefaultModules, a 512 MiB rootfs,
// the agent found next to the executable or built from source.
func NewBuilder(opts ...Option) *Builder {
	b := &Builder{
		kernelPkg: DefaultKernelPackage,
		modules:   DefaultModules,
		rootfsMiB: DefaultRootfsMiB,
		log:       slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

func (b *Builder) debsDir(d paths.Dirs) string {
	if b.debs != "" {
		return b.debs
	}
	return d.Debs()
}

func (b *Builder) emit(e Event) {
	if b.progress != nil {
		b.progress(e)
	}
}

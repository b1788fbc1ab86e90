package smolvm

import (
	"io"
	"log/slog"
	"time"
)

// Option tunes New, Create, Attach and List.
type Option func(*options)

type options struct {
	dataDir     string
	cacheDir    string
	logger      *slog.Logger
	progress    func(Progress)
	bootTimeout time.Duration
	ephemeral   bool
}

// Progress is one step of a long operation (image build, boot), for display.
type Progress struct {
	Step   string // e.g. "download", "rootfs", "boot", "ssh"
	Detail string // human-readable detail
	Done   bool   // the step finished
	Bytes  int64  // bytes done, when known
	Total  int64  // bytes expected, when known
}

// WithDataDir sets the state directory (default: SMOLVM_DATA_DIR, else the
// XDG state dir).
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithCacheDir sets the image cache directory (default: SMOLVM_CACHE_DIR,
// else the XDG cache dir).
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithLogger sets the structured logger (default: discard). Env values are
// never logged, only keys.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithProgress receives progress of image builds and boots.
func WithProgress(f func(Progress)) Option { return func(o *options) { o.progress = f } }

// WithBootTimeout bounds the wait for the guest's SSH server (default 3
// minutes: software emulation is slow).
func WithBootTimeout(d time.Duration) Option { return func(o *options) { o.bootTimeout = d } }

// Ephemeral marks the VM as a one-shot VM: its hypervisor dies with the
// calling process, and a VM left behind by a killed caller is deleted by the
// next reconcile. `smolvm run` uses it.
func Ephemeral() Option { return func(o *options) { o.ephemeral = true } }

func buildOptions(opts []Option) options {
	o := options{bootTimeout: 3 * time.Minute}
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.progress == nil {
		o.progress = func(Progress) {}
	}
	return o
}

// RunOption tunes one Run.
type RunOption func(*runOptions)

type runOptions struct {
	raw     bool
	timeout time.Duration
	env     map[string]string
	stdin   io.Reader
}

// Raw runs the command with `sh -c` and no profile: the env file is not
// sourced.
func Raw() RunOption { return func(o *runOptions) { o.raw = true } }

// Timeout bounds the command; when it passes the remote process group is
// killed and Run returns a *CommandTimeoutError with the output so far.
// Zero or a negative duration means no timeout (the ctx still bounds it).
func Timeout(d time.Duration) RunOption { return func(o *runOptions) { o.timeout = d } }

// Env sets variables for this command only, sent as SSH env requests (never
// spliced into the command). They win over the env file's values.
func Env(vars map[string]string) RunOption {
	return func(o *runOptions) { o.env = cloneMap(vars) }
}

// Stdin feeds the command's standard input.
func Stdin(r io.Reader) RunOption { return func(o *runOptions) { o.stdin = r } }

// EnvOption tunes SetEnvVars.
type EnvOption func(*envOptions)

type envOptions struct{ replace bool }

// Replace makes SetEnvVars replace the whole set instead of merging.
func Replace() EnvOption { return func(o *envOptions) { o.replace = true } }

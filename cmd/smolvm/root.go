package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
	"github.com/smolvm/smolvm/image"
)

// app carries what every command needs: streams, global flags, and the
// environment lookup (injected so tests control it).
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	lookupEnv      func(string) (string, bool)

	json    bool
	debug   bool
	dataDir string

	// interrupted is the signal that cancelled the command's context, if
	// any: the CLI then exits 128+N ("interrupted"), not with the error the
	// cancellation caused deeper down.
	interrupted atomic.Int32
}

// logger writes warnings (debug records with --debug) to stderr, without
// timestamps: the CLI's messages are for a person at a terminal.
func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	if a.debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, attr slog.Attr) slog.Attr {
			if len(groups) == 0 && attr.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return attr
		},
	}))
}

// options returns the library options the global flags ask for.
func (a *app) options() []smolvm.Option {
	var opts []smolvm.Option
	if a.dataDir != "" {
		opts = append(opts, smolvm.WithDataDir(a.dataDir))
	}
	opts = append(opts, smolvm.WithLogger(a.logger()))
	if !a.json {
		opts = append(opts, smolvm.WithProgress(newProgress(a.stderr).report))
	}
	return opts
}

// run is the CLI: it returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			if s, ok := sig.(syscall.Signal); ok {
				a.interrupted.Store(int32(s))
			}
			cancel()
		case <-ctx.Done():
		}
	}()
	return a.execute(ctx, args)
}

func (a *app) execute(ctx context.Context, args []string) int {
	root := a.newRootCommand()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	return a.fail(err)
}

func (a *app) newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "smolvm",
		Short: "Run untrusted code in throw-away microVMs",
		Long: `smolvm boots microVMs from a local image (built on first use, no Docker),
runs shell commands in them over SSH and injects environment variables that
every later login shell in the guest sees.

Exit codes: 0 success; for run and exec, the guest command's own exit code
(use --json to tell it apart from smolvm's own codes); 1 an operation
failed; 2 bad usage or invalid input; 124 run/exec --timeout expired;
125 run/exec could not run the command at all; 130/143 interrupted by
SIGINT/SIGTERM (the VM of a one-shot run is removed).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print machine-readable JSON on stdout")
	root.PersistentFlags().BoolVar(&a.debug, "debug", false, "log debug details to stderr")
	root.PersistentFlags().StringVar(&a.dataDir, "data-dir", "", "state directory (default $SMOLVM_DATA_DIR, else the XDG state dir)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		a.newRunCommand(), a.newCreateCommand(), a.newStartCommand(), a.newStopCommand(),
		a.newRmCommand(), a.newLsCommand(), a.newExecCommand(), a.newSSHCommand(),
		a.newLogsCommand(), a.newDoctorCommand(), a.newEnvCommand(), a.newImageCommand(),
	)
	return root
}

// usageError marks bad command-line usage (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode makes the CLI exit with a given code without printing anything
// more (the guest command's own status).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// fail prints err (as JSON with --json) and returns the exit code.
func (a *app) fail(err error) int {
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	if sig := a.interrupted.Load(); sig != 0 {
		err, code = fmt.Errorf("interrupted by %s", syscall.Signal(sig)), exitCode(128+sig)
		if a.json {
			writeJSON(a.stdout, map[string]any{"error": err.Error(), "kind": "interrupted", "exit_code": int(code)})
		} else {
			fmt.Fprintln(a.stderr, "smolvm: "+err.Error())
		}
		return int(code)
	}
	err = withFlagNames(err)
	status := 1
	var ue usageError
	var ce commandError
	switch {
	case errors.As(err, &ue), errors.Is(err, smolvm.ErrInvalid), errors.Is(err, image.ErrInvalid):
		status = 2
	case errors.As(err, &ce):
		status = 125
	}
	if a.json {
		writeJSON(a.stdout, map[string]any{"error": err.Error(), "kind": errorKind(err), "exit_code": status})
	} else {
		fmt.Fprintln(a.stderr, "smolvm: "+err.Error())
	}
	return status
}

// commandError marks a run/exec failure before or instead of the guest
// command's exit status (exit 125, as docker does).
type commandError struct{ err error }

func (e commandError) Error() string { return e.err.Error() }
func (e commandError) Unwrap() error { return e.err }

func errorKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{smolvm.ErrInvalid, "invalid"}, {smolvm.ErrNotFound, "not_found"},
		{smolvm.ErrAlreadyExists, "already_exists"}, {smolvm.ErrInvalidState, "invalid_state"},
		{smolvm.ErrTimeout, "timeout"}, {smolvm.ErrUnavailable, "unavailable"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	var ue usageError
	if errors.As(err, &ue) {
		return "usage"
	}
	return "error"
}

// flagOf maps the library's config fields to the flags that set them.
var flagOf = map[string]string{
	"Config.ID": "--name", "Config.VCPUs": "--cpus", "Config.MemoryMiB": "--memory",
	"Config.KernelPath": "--kernel", "Config.InitrdPath": "--initrd", "Config.RootfsPath": "--rootfs",
	"Config.BootArgs": "--boot-args", "Config.Backend": "--backend", "Config.DiskMode": "--disk",
	"Config.Network": "--network", "Config.Env": "--env", "Env": "--env",
}

// withFlagNames rewrites a validation error so it names the flag the user
// typed rather than the library field.
func withFlagNames(err error) error {
	var ve *smolvm.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	flag, ok := flagOf[ve.Field]
	if !ok {
		return err
	}
	out := *ve
	out.Field = flag
	return &out
}

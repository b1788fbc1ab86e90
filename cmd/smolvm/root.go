package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
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
}

// options returns the library options the global flags ask for.
func (a *app) options() []smolvm.Option {
	var opts []smolvm.Option
	if a.dataDir != "" {
		opts = append(opts, smolvm.WithDataDir(a.dataDir))
	}
	level := slog.LevelWarn
	if a.debug {
		level = slog.LevelDebug
	}
	opts = append(opts, smolvm.WithLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))))
	if !a.json {
		opts = append(opts, smolvm.WithProgress(newProgress(a.stderr).report))
	}
	return opts
}

// run is the CLI: it returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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

Exit codes: 0 success; for run and exec, the guest command's own exit code;
1 an operation failed; 2 bad usage or invalid input; 125 run/exec could not
run the command at all.`,
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
	status := 1
	var ue usageError
	var ce commandError
	switch {
	case errors.As(err, &ue), errors.Is(err, smolvm.ErrInvalid):
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

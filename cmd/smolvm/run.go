package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

type runOpts struct {
	vm      vmFlags
	raw     bool
	timeout time.Duration
	stdin   bool
}

func (a *app) newRunCommand() *cobra.Command {
	var o runOpts
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND...",
		Short: "Boot a one-shot VM, run a command in it, tear it down",
		Long: `run boots a VM, injects the --env variables, runs COMMAND in a login shell
(so it sees them), prints its stdout and stderr as they come, deletes the VM
and exits with the command's exit code. The words of COMMAND are joined with
spaces, as ssh does. If smolvm itself is killed, the VM dies with it.`,
		Example: `  smolvm run -- uname -a
  smolvm run --env APP_MODE=production -- 'echo $APP_MODE'
  OPENAI_API_KEY=... smolvm run --env OPENAI_API_KEY -- ./agent.sh`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return a.runRun(c.Context(), o, args, c.Flags().Changed)
		},
	}
	o.vm.register(cmd.Flags(), true)
	cmd.Flags().BoolVar(&o.raw, "raw", false, "run with sh -c, without sourcing the profile")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "kill the command after this long (e.g. 30s)")
	cmd.Flags().BoolVarP(&o.stdin, "interactive", "i", false, "pass smolvm's stdin to the command")
	return cmd
}

func (a *app) runRun(ctx context.Context, o runOpts, args []string, changed func(string) bool) error {
	command, err := commandOf(args)
	if err != nil {
		return err
	}
	if o.timeout < 0 {
		return usageError{fmt.Errorf("--timeout must not be negative, got %s", o.timeout)}
	}
	cfg, err := o.vm.config(a, changed)
	if err != nil {
		return err
	}
	vm, err := smolvm.New(ctx, cfg, append(a.options(), smolvm.Ephemeral())...)
	if err != nil {
		return commandError{err}
	}
	defer func() { _ = vm.Close() }()
	return a.runIn(ctx, vm, command, o.raw, o.timeout, o.stdin, nil)
}

// runIn runs command in vm, streaming or (with --json) collecting its output,
// and turns its exit status into the CLI's.
func (a *app) runIn(ctx context.Context, vm *smolvm.VM, command string, raw bool, timeout time.Duration, stdin bool, vars map[string]string) error {
	var opts []smolvm.RunOption
	if raw {
		opts = append(opts, smolvm.Raw())
	}
	if timeout > 0 {
		opts = append(opts, smolvm.Timeout(timeout))
	}
	if stdin {
		opts = append(opts, smolvm.Stdin(a.stdin))
	}
	if len(vars) > 0 {
		opts = append(opts, smolvm.Env(vars))
	}
	stdout, stderr := a.stdout, a.stderr
	var outBuf, errBuf bytes.Buffer
	if a.json {
		stdout, stderr = &outBuf, &errBuf
	}
	res, err := vm.RunStream(ctx, command, stdout, stderr, opts...)
	if err != nil && a.interrupted.Load() != 0 {
		return err // fail() reports the interruption
	}
	code := 0
	switch {
	case err == nil:
		code = res.ExitCode
	case errors.Is(err, smolvm.ErrTimeout):
		code = 124 // like timeout(1)
	}
	if a.json && res != nil {
		out := map[string]any{
			"vm": vm.ID(), "exit_code": code,
			"stdout": bytesJSON(outBuf.Bytes()), "stderr": bytesJSON(errBuf.Bytes()),
		}
		if res.Signal != "" {
			out["signal"] = res.Signal
		}
		if err != nil {
			out["error"] = err.Error()
			out["kind"] = errorKind(err)
		}
		writeJSON(a.stdout, out)
		return exitCode(code)
	}
	if err != nil {
		if code == 124 {
			a.printErr(err)
			return exitCode(code)
		}
		return commandError{err}
	}
	return exitCode(code)
}

// commandOf joins the command words; an empty command is a usage error.
func commandOf(args []string) (string, error) {
	command := strings.Join(args, " ")
	if strings.TrimSpace(command) == "" {
		return "", usageError{errors.New("no command given (usage: ... -- COMMAND)")}
	}
	return command, nil
}

func (a *app) printErr(err error) { _, _ = io.WriteString(a.stderr, "smolvm: "+err.Error()+"\n") }

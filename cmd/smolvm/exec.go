package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

type execOpts struct {
	raw      bool
	timeout  time.Duration
	stdin    bool
	env      []string
	envFiles []string
}

func (a *app) newExecCommand() *cobra.Command {
	var o execOpts
	cmd := &cobra.Command{
		Use:   "exec ID [flags] -- COMMAND...",
		Short: "Run a command in a running VM",
		Long: `exec runs COMMAND in a login shell in the VM (it sees the env file's
variables) and exits with its exit code. --env values are for this command
only; they are sent as SSH env requests (never on a command line) and win
over the env file's.`,
		Example: `  smolvm exec vm-1234abcd -- 'echo $APP_MODE'
  smolvm exec vm-1234abcd --env TOKEN -- ./use-token.sh`,
		Args: minArgs(1, "ID -- COMMAND"),
		RunE: func(c *cobra.Command, args []string) error {
			return a.runExec(c.Context(), o, args[0], args[1:])
		},
	}
	cmd.Flags().BoolVar(&o.raw, "raw", false, "run with sh -c, without sourcing the profile")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "kill the command after this long (e.g. 30s)")
	cmd.Flags().BoolVarP(&o.stdin, "interactive", "i", false, "pass smolvm's stdin to the command")
	cmd.Flags().StringArrayVarP(&o.env, "env", "e", nil, "per-command variable: KEY=VALUE, or KEY for the host's value (repeatable)")
	cmd.Flags().StringArrayVar(&o.envFiles, "env-file", nil, "per-command variables from a dotenv file (repeatable)")
	return cmd
}

func (a *app) runExec(ctx context.Context, o execOpts, id string, args []string) error {
	command, err := commandOf(args)
	if err != nil {
		return err
	}
	if o.timeout < 0 {
		return usageError{fmt.Errorf("--timeout must not be negative, got %s", o.timeout)}
	}
	vars, err := parseEnvFlags("--env", o.env, o.envFiles, a.lookupEnv)
	if err != nil {
		return err
	}
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return commandError{err}
	}
	defer func() { _ = vm.Close() }()
	return a.runIn(ctx, vm, command, o.raw, o.timeout, o.stdin, vars)
}

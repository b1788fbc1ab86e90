package main

import (
	"github.com/spf13/cobra"
)

func (a *app) newEnvCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Manage the environment variables every login shell in a VM sees",
		Long: `env manages /etc/profile.d/smolvm_env.sh in a running VM: variables set
there are seen by every later login shell (smolvm exec, smolvm ssh, sh -l).
Values travel over SSH stdin, never on a command line, and are masked in
listings unless --show-values is given.`,
	}
	cmd.AddCommand(a.newEnvSetCommand(), a.newEnvUnsetCommand(), a.newEnvListCommand())
	return cmd
}

const reloadHint = "Shells already open in the VM keep their old values; run `. /etc/profile.d/smolvm_env.sh` in them to reload."

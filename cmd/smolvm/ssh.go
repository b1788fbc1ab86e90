package main

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

func (a *app) newSSHCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ssh ID [-- COMMAND...]",
		Short: "Open a shell (or run one command) in a VM with the system's OpenSSH client",
		Long: `ssh runs the system's ssh client with the installation key, the VM's
forwarded port and its pinned host key (StrictHostKeyChecking=yes), giving an
interactive login shell with a PTY, or running COMMAND in a login shell (so
both see the env file's variables, like exec). With --json it prints the
connection details instead of connecting.`,
		Args: minArgs(1, "ID"),
		RunE: func(c *cobra.Command, args []string) error { return a.runSSH(c.Context(), args[0], args[1:]) },
	}
	return cmd
}

func (a *app) runSSH(ctx context.Context, id string, command []string) error {
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	info, err := vm.SSHInfo(ctx)
	if err != nil {
		return err
	}
	if a.json {
		writeJSON(a.stdout, info)
		return nil
	}
	path, err := exec.LookPath("ssh")
	if err != nil {
		return errors.New("the ssh client is not installed (apt-get install openssh-client)")
	}
	cmd := exec.CommandContext(ctx, path, sshArgs(info, command)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return exitCode(ee.ExitCode())
	}
	return err
}

// sshArgs builds the OpenSSH argv: key only, the pinned host key only.
func sshArgs(info smolvm.SSHInfo, command []string) []string {
	args := []string{
		"-i", info.KeyPath, "-p", strconv.Itoa(info.Port),
		"-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no",
		"-o", "UserKnownHostsFile=" + info.KnownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR",
		info.User + "@" + info.Host,
	}
	if len(command) > 0 {
		// One argument: the words joined as ssh would, run in a login shell
		// so the command sees the env file's variables, as exec does.
		args = append(args, "--", smolvm.LoginCommand(strings.Join(command, " ")))
	}
	return args
}

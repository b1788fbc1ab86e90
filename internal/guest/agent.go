// Package guest is the smolvm guest agent (binary smolvm-agent): PID 1 of
// every VM smolvm builds. It mounts the early filesystems, loads the
// virtio modules from the initrd, switches to the root disk in-process,
// configures the network from the kernel command line, starts the SSH
// server (package sshd), reaps every orphan and powers the VM off on a
// shutdown signal. docs/guest.md is the contract, docs/agent.md the
// design.
package guest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/smolvm/smolvm/internal/guest/sshd"
)

// SFTPServerArg is the argument that makes the agent serve sftp on its
// stdin/stdout instead of booting; the SSH server runs the agent this way,
// under the user's credentials, for the sftp subsystem.
const SFTPServerArg = "sftp-server"

// ErrNotInit is returned when the agent is started without arguments by
// something other than the kernel.
var ErrNotInit = errors.New("smolvm-agent must run as PID 1 (the VM's init)")

// Run is the agent's main: args are os.Args. As PID 1 it boots the VM and
// never returns unless the power-off itself fails. With "sftp-server" it
// serves sftp on stdin/stdout.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch {
	case len(args) > 1 && slices.Equal(args[1:], []string{SFTPServerArg}):
		w, ok := stdout.(io.WriteCloser)
		if !ok {
			w = nopCloser{stdout}
		}
		return sshd.ServeSFTP(stdin, w)
	case len(args) > 1:
		return fmt.Errorf("usage: %s [%s] (no argument: run as init)", args[0], SFTPServerArg)
	}
	if os.Getpid() != 1 {
		return ErrNotInit
	}
	return boot(stderr)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

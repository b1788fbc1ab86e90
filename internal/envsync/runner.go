package envsync

import (
	"context"
	"io"
)

// Runner starts guest commands. Each env operation makes exactly one Start
// call. An implementation over golang.org/x/crypto/ssh is a few lines:
//
//	func (r sshRunner) Start(ctx context.Context, cmd string, stderr io.Writer) (*envsync.Process, error) {
//		s, err := r.client.NewSession()
//		if err != nil {
//			return nil, err
//		}
//		in, err1 := s.StdinPipe()
//		out, err2 := s.StdoutPipe()
//		s.Stderr = stderr
//		if err := errors.Join(err1, err2, s.Start(cmd)); err != nil {
//			s.Close()
//			return nil, err
//		}
//		stop := context.AfterFunc(ctx, func() { s.Close() })
//		return &envsync.Process{Stdin: in, Stdout: out, Wait: func() error {
//			defer s.Close()
//			defer stop()
//			return s.Wait()
//		}}, nil
//	}
//
// and over os/exec: exec.CommandContext(ctx, "sh", "-c", cmd) with
// StdinPipe, StdoutPipe, Stderr = stderr, Start, and cmd.Wait as Wait.
type Runner interface {
	// Start starts cmd in the guest as a raw command: the way sshd runs an
	// exec request (the user's shell with -c cmd), never through a login
	// shell, with nothing sourced from /etc/profile. The command's stderr
	// is copied to stderr. When ctx is done the implementation must end the
	// command, so that reads from Stdout return and Wait returns.
	Start(ctx context.Context, cmd string, stderr io.Writer) (*Process, error)
}

// Process is a started guest command. envsync closes Stdin, reads Stdout
// to EOF and then calls Wait exactly once, on every path.
type Process struct {
	// Stdin is the command's standard input; Close sends EOF.
	Stdin io.WriteCloser
	// Stdout is the command's standard output.
	Stdout io.Reader
	// Wait waits for the command to exit and releases what Start
	// acquired. It returns nil only for exit status 0.
	Wait func() error
}

package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smolvm/smolvm/internal/envsync"
	"golang.org/x/crypto/ssh"
)

// ExitError is a command's non-zero exit, as an error (EnvRunner's Wait).
type ExitError struct{ Exit Exit }

// Error reads "exit status N" or "killed by signal S (exit N)".
func (e *ExitError) Error() string {
	if e.Exit.Signal != "" {
		return fmt.Sprintf("killed by signal %s (exit %d)", e.Exit.Signal, e.Exit.Code)
	}
	return fmt.Sprintf("exit status %d", e.Exit.Code)
}

// EnvRunner returns an envsync.Runner that runs each env-management
// command in a fresh raw session on c (no login shell, values only on
// stdin). Sessions and bytes show in c's Stats. When ctx ends, the command
// is sent signal KILL and the session closed, and Wait returns within a
// few seconds even if the server does not answer; nothing is written to
// the stderr writer after Wait returns.
func (c *Client) EnvRunner() envsync.Runner { return envRunner{c} }

type envRunner struct{ c *Client }

func (r envRunner) Start(ctx context.Context, cmd string, stderr io.Writer) (*envsync.Process, error) {
	s, err := r.c.Session(ctx)
	if err != nil {
		return nil, err
	}
	out := newGuard(nil, stderr)
	in, err1 := s.StdinPipe()
	stdout, err2 := s.StdoutPipe()
	s.Stderr = out.stderr
	if err := errors.Join(err1, err2); err != nil {
		_ = s.Close()
		return nil, err
	}
	started := make(chan error, 1)
	go func() { started <- s.Start(cmd) }()
	select {
	case err := <-started:
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("start: %w", err)
		}
	case <-ctx.Done():
		go func() {
			if err := <-started; err != nil {
				r.c.log.Debug("env command start failed after cancel", "err", err)
			}
			_ = s.Close()
		}()
		return nil, ctx.Err()
	}
	kill := context.AfterFunc(ctx, func() {
		_ = s.Signal(ssh.SIGKILL)
		_ = s.Close()
	})
	wait := func() error {
		defer kill()
		waited := make(chan error, 1)
		go func() { waited <- s.Wait() }()
		var werr error
		select {
		case werr = <-waited:
		case <-ctx.Done():
			t := time.NewTimer(killGrace)
			select {
			case werr = <-waited:
			case <-t.C:
				werr = ctx.Err()
			}
			t.Stop()
		}
		_ = s.Close()
		out.close()
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%w)", ctx.Err(), werr)
		}
		exit, err := exitOf(werr)
		if err == nil && exit.Code != 0 {
			err = &ExitError{Exit: exit}
		}
		return err
	}
	return &envsync.Process{Stdin: in, Stdout: stdout, Wait: wait}, nil
}

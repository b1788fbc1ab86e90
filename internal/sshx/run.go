package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/smolvm/smolvm/env"
	"golang.org/x/crypto/ssh"
)

// killGrace is how long Run waits, after sending KILL, for the exit status
// and the last output before it closes the session anyway.
const killGrace = 2 * time.Second

// RunOptions are the optional parts of a Run.
type RunOptions struct {
	// Stdin feeds the command's stdin; nil means empty stdin (EOF at once).
	// A Stdin that blocks may still be read from after Run returns.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output as it arrives, byte for
	// byte and kept apart; nil discards. They may be the same writer: writes
	// are serialised. Nothing is written to them after Run returns. When one
	// returns an error the command is killed and Run returns that error.
	Stdout, Stderr io.Writer
	// Env holds per-command variables, sent as SSH env requests (never on
	// the command line). Keys and values are checked with env.ValidateKey
	// and env.ValidateValue (no NUL, valid UTF-8, at most env.MaxVarSize)
	// before anything is sent.
	Env map[string]string
	// Timeout, when positive, bounds the command like a context deadline.
	Timeout time.Duration
	// Login runs cmd through LoginCommand (a login shell that sources the
	// profile) and sends Env so that it wins over the profile's values.
	// Otherwise cmd goes to the server as is (the server runs it with the
	// user's shell -c).
	Login bool
}

// Exit is how a command ended.
type Exit struct {
	// Code is the exit status, or 128+N when the command was killed by
	// signal N (as a shell reports it). It is -1 when Run returns an error.
	Code int
	// Signal is the signal name without "SIG" ("KILL") when the command was
	// killed by a signal, else "".
	Signal string
}

// Run runs cmd in a fresh session and waits for it to end. A non-zero exit
// is a result, not an error. Errors: ErrInvalidEnv (nothing sent),
// ErrEnvRefused naming the key (the command did not run), ErrNoExitStatus
// (the session ended without an exit status, e.g. the connection broke:
// the command is never re-run), and on ctx cancellation or Timeout the
// session is sent signal KILL and closed, and the error wraps ErrTimeout
// (Timeout or a ctx deadline) and/or the ctx error. Output written before
// that stays in the caller's writers.
func (c *Client) Run(ctx context.Context, cmd string, opts RunOptions) (Exit, error) {
	fail := Exit{Code: -1}
	env, err := sessionEnv(opts.Env, opts.Login)
	if err != nil {
		return fail, err
	}
	if opts.Login {
		if cmd, err = LoginCommand(cmd, slices.Collect(maps.Keys(opts.Env))); err != nil {
			return fail, err
		}
	}
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if opts.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
	}
	defer cancel()
	stopped := func() error {
		switch {
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("run: %w: %w", ErrTimeout, ctx.Err())
		case ctx.Err() != nil:
			return fmt.Errorf("run: %w", ctx.Err())
		default:
			return fmt.Errorf("run: %w after %v", ErrTimeout, opts.Timeout)
		}
	}

	s, release, err := c.openSession(runCtx)
	if err != nil {
		if runCtx.Err() != nil {
			return fail, stopped()
		}
		return fail, err
	}
	out := newGuard(opts.Stdout, opts.Stderr)
	s.Stdout, s.Stderr = out.stdout, out.stderr

	started := make(chan error, 1)
	go func() { started <- c.start(s, cmd, env, opts.Stdin) }()
	select {
	case err := <-started:
		if err != nil {
			_ = s.Close()
			release()
			return fail, err
		}
	case <-runCtx.Done():
		out.close()
		go func() {
			if <-started == nil {
				_ = s.Signal(ssh.SIGKILL)
			}
			_ = s.Close()
			release()
		}()
		return fail, stopped()
	}

	waited := make(chan error, 1)
	go func() { waited <- s.Wait() }()
	select {
	case err := <-waited:
		_ = s.Close()
		release()
		out.close()
		exit, err := exitOf(err)
		if werr := out.err(); err == nil && werr != nil {
			err = fmt.Errorf("run: write output: %w", werr)
		}
		return exit, err
	case <-runCtx.Done():
	case <-out.failed:
		// The caller cannot take more output: stop the command rather
		// than let it run on unseen.
	}
	// smolvm's guest agent delivers the signal to the command's process
	// group; OpenSSH's sshd to the process group of its child (see the
	// package doc). Then wait a little for the exit and the last output.
	_ = s.Signal(ssh.SIGKILL)
	t := time.NewTimer(killGrace)
	select {
	case werr := <-waited:
		c.log.Debug("killed command ended", "err", werr)
	case <-t.C:
		c.log.Debug("killed command did not end in time; closing its session")
	}
	t.Stop()
	_ = s.Close()
	release()
	out.close()
	if werr := out.err(); werr != nil && runCtx.Err() == nil {
		return fail, fmt.Errorf("run: write output (command killed): %w", werr)
	}
	return fail, stopped()
}

// start sends the env requests, wires stdin and sends the exec request.
func (c *Client) start(s *ssh.Session, cmd string, env [][2]string, stdin io.Reader) error {
	for _, kv := range env {
		ok, err := s.SendRequest("env", true, ssh.Marshal(&struct{ Name, Value string }{kv[0], kv[1]}))
		if err != nil {
			return fmt.Errorf("env %s: %w", kv[0], err)
		}
		if !ok {
			return fmt.Errorf("%w: %s (server does not accept it; OpenSSH needs AcceptEnv)", ErrEnvRefused, kv[0])
		}
	}
	var pipe io.WriteCloser
	if stdin != nil {
		p, err := s.StdinPipe()
		if err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		pipe = &countingWriteCloser{WriteCloser: p, n: &c.stdinBytes}
	}
	c.commandBytes.Add(uint64(len(cmd)))
	if err := s.Start(cmd); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if pipe != nil {
		go func() {
			// A command may exit without reading all its input; like
			// OpenSSH's client, that is not an error.
			_, _ = io.Copy(pipe, stdin)
			_ = pipe.Close()
		}()
	}
	return nil
}

// sessionEnv validates vars (env.ValidateKey, env.ValidateValue: no NUL,
// valid UTF-8, at most env.MaxVarSize) and returns the requests to send, sorted; for a
// login run each variable is sent as KEY and as RunEnvPrefix+KEY.
func sessionEnv(vars map[string]string, login bool) ([][2]string, error) {
	var out [][2]string
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if err := validateKey(k); err != nil {
			return nil, err
		}
		v := vars[k]
		if err := env.ValidateValue(k, v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidEnv, err)
		}
		if login {
			out = append(out, [2]string{RunEnvPrefix + k, v})
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// exitOf turns Session.Wait's result into an Exit.
func exitOf(err error) (Exit, error) {
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return Exit{}, nil
	case errors.As(err, &ee):
		if sig := ee.Signal(); sig != "" {
			sig = strings.TrimPrefix(sig, "SIG")
			return Exit{Code: 128 + signalNumber(sig), Signal: sig}, nil
		}
		return Exit{Code: ee.ExitStatus()}, nil
	case errors.As(err, &missing):
		return Exit{Code: -1}, fmt.Errorf("run: %w", ErrNoExitStatus)
	default:
		return Exit{Code: -1}, fmt.Errorf("run: %w", err)
	}
}

// signalNumber maps the RFC 4254 signal names to Linux signal numbers; an
// unknown name maps to 0.
func signalNumber(name string) int {
	return map[string]int{
		"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
		"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
	}[name]
}

package sshx

import "errors"

// Sentinel errors, matched with errors.Is.
var (
	// ErrHostKeyMismatch is wrapped when the server presents a host key other
	// than the pinned one. It is never retried.
	ErrHostKeyMismatch = errors.New("ssh host key mismatch")
	// ErrNoHostKey is wrapped when the pinned host key is not known yet (the
	// guest has not printed it). WaitReady keeps retrying on it.
	ErrNoHostKey = errors.New("ssh host key not known yet")
	// ErrTimeout is wrapped when a Run hits its Timeout, or WaitReady its
	// context deadline.
	ErrTimeout = errors.New("timeout")
	// ErrNoExitStatus is wrapped when a session ends without an exit status
	// or exit signal (for example the connection broke mid-command).
	ErrNoExitStatus = errors.New("session ended without exit status")
	// ErrEnvRefused is wrapped when the server refuses an env request; the
	// command is not run.
	ErrEnvRefused = errors.New("env request refused by server")
	// ErrInvalidEnv is wrapped when a per-command env key or value is
	// invalid; nothing is sent.
	ErrInvalidEnv = errors.New("invalid env")
	// ErrClosed is returned by calls on a closed Client.
	ErrClosed = errors.New("ssh client closed")
)

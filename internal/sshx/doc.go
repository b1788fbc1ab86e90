// Package sshx is smolvm's host-side SSH client: the per-installation
// client key, the guest's pinned host key, waiting for the guest to answer,
// one persistent connection per VM and a fresh session per command.
//
// # Keys
//
// [LoadOrCreateKey] keeps one ed25519 key per installation (0600 in a 0700
// directory, created atomically so concurrent processes agree on it);
// [AuthorizedKey] renders its public half for the guest's kernel command
// line. The guest prints its own host key on the serial console; the
// Client pins it ([Config].HostKey is consulted before every handshake,
// because the line appears only while the guest boots) and refuses any
// other key with an error wrapping [ErrHostKeyMismatch].
//
// # Connections and sessions
//
// A [Client] dials through [Config].Dial (TCP to 127.0.0.1:PORT, or a
// vsock connection), keeps one *ssh.Client, and opens a fresh session per
// [Client.Run]. When opening a session fails because the connection broke
// (the guest rebooted, the VMM restarted), it reconnects once and retries:
// nothing has run at that point. A command whose connection breaks while
// it runs is never re-run; Run returns [ErrNoExitStatus]. A server that
// refuses a session (OpenSSH's MaxSessions, which counts sessions whose
// close it has not processed yet) is retried for a few seconds; at most
// [Config].MaxSessions sessions (default 10, OpenSSH's default) are open
// at once. [Client.WaitReady] defines readiness as a handshake plus the
// command `true` exiting 0, retried with exponential backoff (5 ms
// doubling to 500 ms) until its context ends; its error lists every
// attempt. [Client.Session] hands out a raw session for protocols such as
// env management; [Client.Stats] counts sessions, stdin bytes and command
// bytes for benchmarks.
//
// # Run
//
// Stdout and stderr are streamed to the caller's writers byte for byte and
// kept apart. exit-status becomes [Exit].Code; exit-signal becomes
// Exit{Signal, Code: 128+N}; a session that ends with neither is an error,
// never exit 0. On context cancellation or [RunOptions].Timeout, Run sends
// signal KILL on the session, waits up to 2 s for the exit, closes the
// session and returns an error wrapping [ErrTimeout] and/or the context's
// error; output received until then stays in the writers, and nothing is
// written to them after Run returns.
//
// What the KILL reaches depends on the server. smolvm's guest agent
// delivers it to the command's process group (docs/guest.md). OpenSSH
// (checked with 9.2) kills the process group of the session's child
// (killpg), so compound and background commands die too, but only for
// sessions with post-authentication privilege separation, which it skips
// for root logins: for root it logs "session signalling requires
// privilege separation" and ignores the request, and closing the channel
// does not signal a command without a PTY, so the command keeps running
// until it exits or writes to its closed stdout/stderr. Run still returns
// promptly with ErrTimeout.
//
// # Environment
//
// Per-command variables ([RunOptions].Env) travel as SSH "env" requests,
// never on the command line. A server that refuses one (OpenSSH accepts
// only names matching AcceptEnv) makes Run fail with [ErrEnvRefused]
// naming the key (never the value) before the command is started.
//
// A login run ([RunOptions].Login, [LoginCommand]) executes
//
//	exec /bin/sh -lc '<script>'
//
// with the script quoted exactly like Python's shlex.quote, so the
// command's quotes, $ and newlines behave as typed. The login shell
// sources /etc/profile and with it /etc/profile.d/smolvm_env.sh, which
// would override the per-command values that the env requests put in its
// environment. So for a login run each variable is sent twice, as KEY and
// as SMOLVM_RUNENV_KEY, and the script starts with
//
//	export KEY="$SMOLVM_RUNENV_KEY"; unset SMOLVM_RUNENV_KEY;
//
// for each key: it runs after the profile and before the command, restores
// the per-command value and removes the copy. Only validated key names
// ([A-Za-z_][A-Za-z0-9_]*) are put into the script, never values. An
// OpenSSH server must therefore accept both KEY and SMOLVM_RUNENV_* (e.g.
// "AcceptEnv * " or the keys plus "SMOLVM_RUNENV_*"). A raw run sends each
// variable once and runs the command with the user's shell -c, no profile.
package sshx

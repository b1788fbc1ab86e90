// Package envsync is the guest side of smolvm's env management: it reads
// and rewrites the env file (package env) inside a guest over any
// transport that can run one command with stdin and stdout, which in
// practice is one SSH session. It needs only a POSIX sh and POSIX tools
// (busybox or coreutils) in the guest, not smolvm's agent, so it works the
// same with smolvm's image and with e.g. a Debian or Alpine image running
// OpenSSH.
//
// # Sessions
//
// Every operation (Set, List, Unset) is exactly one session: one
// Runner.Start of a raw command (the way sshd runs an exec request: the
// user's shell with -c, no login shell, nothing sourced, so a broken or
// hostile env file never breaks env management). The command is a fixed
// POSIX sh script (guest.sh) preceded by three assignments: the mode
// (list or update), the lock kind and the env file path. Values never
// appear in it: they travel only on stdin and stdout, so they are not in
// any process list, log or command line. Keys and values are validated
// with package env before the session starts; invalid input does no I/O.
//
// # Protocol
//
// The script first makes itself immune to its environment: it unsets
// functions named like the tools it runs (bash imports exported
// functions), turns off shell options (SHELLOPTS can set errexit, nounset,
// noglob, noclobber), resets IFS, sets PATH, LC_ALL=C and umask 022, and
// assigns every variable it reads. An injected IFS=/, UID, PATH or a
// variable named like one of its own cannot change what it does.
// Startup hooks that run before the first line of the script (BASH_ENV,
// or xtrace with a PS4 holding a command substitution) are out of its
// reach; sshd passes neither unless configured to (AcceptEnv,
// PermitUserEnvironment).
//
// In list mode the script prints the current file as a frame and exits.
// It takes no lock: writers replace the file with one rename(2), and the
// script reads it once into a shell variable, so the size it announces
// always matches the bytes it sends, and List never sees half of a write.
// List therefore also works when the directory is read-only.
//
// In update mode the exchange is:
//
//	guest: takes the lock (see below), removes temp files of dead writers
//	guest: "SMOLVM-ENV 1 <n>\n" + n bytes    or    "SMOLVM-ENV 1 missing\n"
//	host:  "-\n"                             (no change)
//	   or: "<n>\n" + exactly n bytes         (the new file), then EOF
//	guest: "-": unlock, "OK\n", exit 0
//	       "<n>": write stdin to <dir>/.<base>.tmp.<pid>, check its size is
//	       n (a connection lost mid-write never commits a truncated file),
//	       chmod 0644, fsync (dd conv=fsync, else sync), rename over the
//	       env file, unlock, "OK\n", exit 0
//
// The host parses the frame with env.ParseReport (skipped lines are logged
// by line number, key and reason, never by content), computes the next
// map with env.Merge or env.Unset, and answers "-" when nothing changes:
// an unset of absent keys or a set to the same values leaves the file's
// inode and mtime untouched. A guest startup file that prints to stdout
// before the frame is tolerated (up to 64 KiB, logged).
//
// On any failure the script removes its temp file, leaves the env file
// byte-identical, unlocks, writes "smolvm-env: <reason>" to stderr and
// exits non-zero; the host returns a *GuestError holding that message.
// The rename is the only step that changes the env file, so a failure
// before it changes nothing and a failure after it (a lost "OK") means
// the new file is in place.
//
// # Lock
//
// Updates are serialised in the guest, so concurrent Set calls from many
// goroutines or host processes lose no key. With flock(1) (util-linux, or
// a busybox that has the applet) the lock is flock -x on
// <dir>/.<base>.flock, released by the kernel when the holder dies.
// Without it (Debian's busybox-static, hence smolvm's own image) the lock
// is a symlink <dir>/.<base>.lock created with ln -s, whose target names
// its owner as pid:starttime:bootid. A waiter polls (10 ms doubling to
// 320 ms) and breaks a lock whose owner is dead (no such pid, a zombie,
// another start time, i.e. a reused pid, or another boot id), under a
// second symlink lock <dir>/.<base>.lock.break and only after checking
// again that the lock still names the dead owner, so two waiters never
// both remove it. Without /proc only kill -0 tells whether an owner lives.
// All these names start with a dot and do not end in .sh, so
// /etc/profile's "for f in /etc/profile.d/*.sh" never sources them.
//
// # Runner
//
// The transport is the small Runner interface: Start returns the
// command's stdin, stdout and a Wait func, which maps directly onto
// x/crypto/ssh's Session (StdinPipe, StdoutPipe, Start, Wait) and onto
// os/exec. The exchange is interactive (the host answers after reading
// the current file), which is why Runner is not a one-shot Run.
package envsync

// Package env defines the smolvm env file: the shell file a guest's login
// shells source to see the variables injected with SetEnvVars. It is pure:
// no I/O, no logging, no clock. Both the host and the guest agent use it.
//
// # Location
//
// The file is [Path] (/etc/profile.d/smolvm_env.sh), mode 0644, owner root.
// Writers replace it atomically: they create a temp file in [Dir] itself
// whose name starts with [TempPrefix] (so it never ends in ".sh" and no
// login shell sources a half-written file), write it, fsync, chmod 0644 and
// rename it over [Path].
//
// # Bytes
//
// The file uses LF line endings and always ends in LF. For an empty set of
// variables it is exactly the one line
//
//	# SmolVM environment variables (empty)
//
// Otherwise it is the header
//
//	#!/bin/sh
//	# SmolVM managed environment variables
//	(an empty line)
//
// followed by one line per variable, keys sorted bytewise:
//
//	export KEY=VALUE
//
// VALUE is [Quote] of the value, which is exactly Python's shlex.quote:
// two single quotes for the empty string; the value itself when every
// byte is in [A-Za-z0-9_@%+=:,./-]; otherwise the value wrapped in single
// quotes with each ' written as '"'"'. A quoted value may span lines (a
// newline inside single quotes is literal), so a "line" above is a shell
// command line, not a physical line. [Render] produces these bytes. Some
// values and their lines:
//
//	hello          export K=hello
//	(empty)        export K=''
//	hello world    export K='hello world'
//	it's           export K='it'"'"'s'
//	price is $5    export K='price is $5'
//
// # Keys and values
//
// A key is a whole-string match of [A-Za-z_][A-Za-z0-9_]* ([ValidateKey]).
// A value is any valid UTF-8 without NUL ([ValidateValue]). Limits: one
// variable, counted as the exec environment string KEY=VALUE plus its
// terminating NUL, must be at most [MaxVarSize] (131072 bytes, the kernel's
// MAX_ARG_STRLEN: a longer one makes every later exec in that shell fail
// with E2BIG); the rendered file must be at most [MaxFileSize] (1 MiB - 1).
// [Validate] checks all of it for a whole map. Errors are typed
// ([*KeyError], [*ValueError], [*SizeError]) and match [ErrInvalidKey],
// [ErrInvalidValue] and [ErrTooLarge] with errors.Is; messages name the key
// (quoted with %q) and never contain a value.
//
// # Reading
//
// [Parse] is the inverse of [Render] for every valid map, and reads the
// subset of sh that hand edits and other writers commonly use. The file is
// cut into logical lines: a logical line ends at a newline that is outside
// quotes and not escaped by a backslash, so a quoted multi-line value (even
// one containing "\nexport EVIL=x") stays inside its line. A CR directly
// before such a newline is dropped (CRLF files are tolerated); a missing
// final newline is fine. Each logical line is then:
//
//   - blank, or a comment (# at the start of a word runs to the end of
//     the physical line): ignored;
//   - export KEY=WORD, optionally followed by blanks and a # comment: sets
//     KEY. WORD may mix bare characters, '...' (literal, may span lines),
//     "..." (where \ escapes only $ ` " \ and newline) and \c outside
//     quotes (c literal; backslash-newline is a line continuation). The
//     key is the text before the first = after quote removal. The last
//     assignment of a key wins;
//   - anything else is skipped and reported by [ParseReport]: non-export
//     lines, more than one word after export, an invalid key, a value with
//     NUL or invalid UTF-8 or over [MaxVarSize], an unterminated quote
//     (which ends the file), and anything a shell would expand or treat
//     as an operator (unquoted $ ` ; & | < > ( ) * ? [ { } ~, and $ or `
//     inside double quotes), because this reader does not run a shell
//     and will not guess what one would produce.
//
// For example, all of these lines set K to it's:
//
//	export K='it'"'"'s'
//	export K='it'\''s'
//	export K="it's"   # a comment
//	export K=it\'s
//
// A skipped line never stops the lines after it being read, so a
// hand-edited bad line never blocks later updates. Parse runs nothing, so
// what a skipped line would do in a shell (unset a variable, or stop
// dash from sourcing the rest of the file after a bad export) is not
// reproduced. Every map Parse returns
// passes [Validate] key and value checks. Parse returns an error only for
// input longer than [MaxFileSize]; [ParseReport] never fails.
//
// # Updating
//
// [Merge] and [Unset] compute the next map from the current one and say
// whether anything changed, so a caller can skip the write. They never
// mutate their inputs.
//
// # Dotenv files
//
// [ParseDotenv] reads the host-side KEY=VALUE files given to the CLI's
// --env-file. That format is described on the function; it is not the env
// file format.
package env

const (
	// Dir is the directory the env file lives in; temp files for atomic
	// writes are created here so the final rename stays on one filesystem.
	Dir = "/etc/profile.d"
	// Path is the env file every login shell in the guest sources.
	Path = Dir + "/smolvm_env.sh"
	// TempPrefix starts the base name of a temp file used for an atomic
	// write of [Path]. A temp name is Dir + "/" + TempPrefix + a random
	// suffix of letters and digits: it starts with a dot and never ends in
	// ".sh", so /etc/profile's "for f in /etc/profile.d/*.sh" never sources
	// a partial file, and a cleanup can find leftovers by this prefix.
	TempPrefix = ".smolvm_env.sh.tmp."
	// MktempTemplate is a mktemp(1) template that follows the temp-file
	// rule above (mktemp replaces the X's with letters and digits).
	MktempTemplate = Dir + "/" + TempPrefix + "XXXXXXXXXX"
)

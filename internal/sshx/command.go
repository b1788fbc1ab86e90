package sshx

import (
	"fmt"
	"slices"
	"strings"
)

// RunEnvPrefix prefixes the second copy of each per-command variable sent
// for a login run (see the package doc).
const RunEnvPrefix = "SMOLVM_RUNENV_"

// LoginCommand returns the command line that runs cmd in a login shell:
//
//	exec /bin/sh -lc '<script>'
//
// The script is quoted exactly as Python's shlex.quote does, so quotes, $,
// backslashes and newlines in cmd reach the login shell as typed. For each
// key in envKeys (sorted, duplicates dropped) the script starts with
//
//	export KEY="$SMOLVM_RUNENV_KEY"; unset SMOLVM_RUNENV_KEY;
//
// which restores the per-command value after the profile has run; the
// caller must send both KEY and SMOLVM_RUNENV_KEY as env requests (Run
// with RunOptions.Login does). Only key names go into the command line,
// never values; a key that is not [A-Za-z_][A-Za-z0-9_]* is an error
// wrapping ErrInvalidEnv.
func LoginCommand(cmd string, envKeys []string) (string, error) {
	keys := slices.Clone(envKeys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var script strings.Builder
	for _, k := range keys {
		if err := validateKey(k); err != nil {
			return "", err
		}
		fmt.Fprintf(&script, "export %s=\"$%s%s\"; unset %s%s; ", k, RunEnvPrefix, k, RunEnvPrefix, k)
	}
	script.WriteString(cmd)
	return "exec /bin/sh -lc " + quote(script.String()), nil
}

// validateKey reports whether k is a valid env key: [A-Za-z_][A-Za-z0-9_]*.
func validateKey(k string) error {
	if k == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidEnv)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("%w: key %q: byte %q at offset %d", ErrInvalidEnv, k, c, i)
		}
	}
	return nil
}

// quote is Python's shlex.quote.
func quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

package sshx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/smolvm/smolvm/env"
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
	return "exec /bin/sh -lc " + env.Quote(script.String()), nil
}

// validateKey checks k with env.ValidateKey; the error matches both
// ErrInvalidEnv and env.ErrInvalidKey.
func validateKey(k string) error {
	if err := env.ValidateKey(k); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEnv, err)
	}
	return nil
}

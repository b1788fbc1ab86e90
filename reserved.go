package smolvm

import (
	"strings"

	"github.com/smolvm/smolvm/env"
	"github.com/smolvm/smolvm/internal/sshx"
)

// ReservedEnvPrefix starts the names smolvm uses to carry per-command values
// past the login profile (see Env). Keys with this prefix are refused
// everywhere: a stored one would override a per-command value.
const ReservedEnvPrefix = sshx.RunEnvPrefix

// checkReserved refuses keys that use the reserved prefix.
func checkReserved(field string, vars map[string]string) error {
	for k := range vars {
		if strings.HasPrefix(k, ReservedEnvPrefix) {
			return invalid(field, "key %q uses the prefix %s, which smolvm reserves", k, ReservedEnvPrefix)
		}
	}
	return nil
}

// validateRunEnv checks per-command variables: keys and values as in the
// env file, and room for the copy under ReservedEnvPrefix that a login run
// also sends (each must fit the kernel's per-string limit).
func validateRunEnv(vars map[string]string) error {
	if err := checkReserved("Env", vars); err != nil {
		return err
	}
	for k, v := range vars {
		if err := env.ValidateKey(k); err != nil {
			return &ValidationError{Field: "Env", Err: err}
		}
		if err := env.ValidateValue(k, v); err != nil {
			return &ValidationError{Field: "Env", Err: err}
		}
		if n := len(ReservedEnvPrefix) + len(k) + 1 + len(v) + 1; n > env.MaxVarSize {
			return invalid("Env", "per-command variable %q is %d bytes with its %s copy, the limit is %d",
				k, n, ReservedEnvPrefix, env.MaxVarSize)
		}
	}
	return nil
}

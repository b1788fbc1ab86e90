package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/smolvm/smolvm/env"
)

// parseEnvFlags turns --env values into a map. "K=V" sets K to V; a bare
// "K" takes the host's value of K (like docker) and is an error when the
// host has no such variable. Files from --env-file are read first, so
// --env wins. Errors name the flag value's key, never its value.
// label names the source of flags in errors ("--env", or "argument").
func parseEnvFlags(label string, flags, files []string, lookup func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, usageError{fmt.Errorf("--env-file: %w", err)}
		}
		vars, err := env.ParseDotenv(fh)
		_ = fh.Close()
		if err != nil {
			return nil, usageError{fmt.Errorf("--env-file %s: %w", f, err)}
		}
		for k, v := range vars {
			out[k] = v
		}
	}
	for _, kv := range flags {
		k, v, hasValue := strings.Cut(kv, "=")
		if err := env.ValidateKey(k); err != nil {
			return nil, usageError{fmt.Errorf("%s: %w", label, err)}
		}
		if !hasValue {
			hv, ok := lookup(k)
			if !ok {
				return nil, usageError{fmt.Errorf("%s %s: no value given and %s is not set on the host", label, k, k)}
			}
			v = hv
		}
		out[k] = v
	}
	if err := env.Validate(out); err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", label, err)}
	}
	return out, nil
}

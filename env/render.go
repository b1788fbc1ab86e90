package env

const (
	// headerLines starts a non-empty env file.
	headerLines = "#!/bin/sh\n# SmolVM managed environment variables\n\n"
	// emptyFile is the whole env file for an empty set of variables.
	emptyFile  = "# SmolVM environment variables (empty)\n"
	exportWord = "export "
)

// Render returns the env file for vars, byte for byte as the package
// documentation specifies: the header, then "export KEY=" + Quote(value)
// + "\n" per variable in bytewise key order; or the "(empty)" line when
// there is nothing to write.
//
// Render is total and safe: an entry whose key fails ValidateKey or whose
// value contains NUL or invalid UTF-8 is left out, so a caller that forgot
// to validate can never write a line that injects shell code or that a
// shell reads differently. Size limits are not enforced here; call
// Validate first to get every problem as an error.
func Render(vars map[string]string) []byte {
	keys := make([]string, 0, len(vars))
	for _, k := range sortedKeys(vars) {
		if ValidateKey(k) == nil && validValue(vars[k]) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return []byte(emptyFile)
	}
	n := len(headerLines)
	for _, k := range keys {
		n += lineSize(k, vars[k])
	}
	b := make([]byte, 0, n)
	b = append(b, headerLines...)
	for _, k := range keys {
		b = append(b, exportWord...)
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, Quote(vars[k])...)
		b = append(b, '\n')
	}
	return b
}

// renderedSize is len(Render(vars)) without building it.
func renderedSize(vars map[string]string) int {
	n := 0
	for k, v := range vars {
		if ValidateKey(k) == nil && validValue(v) {
			n += lineSize(k, v)
		}
	}
	if n == 0 {
		return len(emptyFile)
	}
	return n + len(headerLines)
}

func lineSize(k, v string) int { return len(exportWord) + len(k) + 1 + quotedLen(v) + 1 }

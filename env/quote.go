package env

import "strings"

// Quote returns value quoted for a POSIX shell exactly as Python's
// shlex.quote does, byte for byte: "”" for the empty string; value
// unchanged when every byte is in [A-Za-z0-9_@%+=:,./-]; otherwise value
// wrapped in single quotes with each ' replaced by '"'"'. Any byte outside
// that ASCII set (including every byte of a non-ASCII character) forces
// quoting; bytes inside the quotes are never altered.
func Quote(value string) string {
	if value == "" {
		return "''"
	}
	if isSafe(value) {
		return value
	}
	return "'" + strings.ReplaceAll(value, "'", `'"'"'`) + "'"
}

// quotedLen is len(Quote(value)) without building it.
func quotedLen(value string) int {
	if value == "" {
		return 2
	}
	if isSafe(value) {
		return len(value)
	}
	return len(value) + 2 + 4*strings.Count(value, "'")
}

func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			return false
		}
	}
	return true
}

// safeByte is Python's re.ASCII class [\w@%+=:,./-].
func safeByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("_@%+=:,./-", c) >= 0
}

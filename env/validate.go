package env

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

const (
	// MaxVarSize is the largest allowed size of one variable counted as
	// its exec environment string: len(key) + 1 ("=") + len(value) + 1
	// (the terminating NUL). It is Linux's MAX_ARG_STRLEN (32 pages);
	// an exported string past it makes every exec from that shell fail.
	MaxVarSize = 128 << 10
	// MaxFileSize is the largest allowed size of the rendered env file
	// (1 MiB - 1 byte, i.e. under 1 MiB). It bounds what a guest shell
	// sources on every login and what the host reads back.
	MaxFileSize = 1<<20 - 1
)

// ValidateKey reports whether key is a whole-string match of
// [A-Za-z_][A-Za-z0-9_]*. The error is a *KeyError (matching
// ErrInvalidKey and its Kind) that names the key with %q.
func ValidateKey(key string) error {
	if key == "" {
		return &KeyError{Key: key, Kind: ErrEmptyKey}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		case i == 0:
			return &KeyError{Key: key, Kind: ErrKeyFirstChar, Pos: 0}
		default:
			return &KeyError{Key: key, Kind: ErrKeyChar, Pos: i}
		}
	}
	return nil
}

// ValidateValue checks the value of key: it must not contain NUL, must be
// valid UTF-8 (a *ValueError, matching ErrInvalidValue), and
// len(key)+len(value)+2 must be at most MaxVarSize (a *SizeError, matching
// ErrTooLarge). It does not check the key itself and never puts the value
// in the error.
func ValidateValue(key, value string) error {
	if i := strings.IndexByte(value, 0); i >= 0 {
		return &ValueError{Key: key, Kind: ErrValueNUL, Pos: i}
	}
	if !utf8.ValidString(value) {
		return &ValueError{Key: key, Kind: ErrValueUTF8, Pos: firstInvalidUTF8(value)}
	}
	if n := varSize(key, value); n > MaxVarSize {
		return &SizeError{What: fmt.Sprintf("variable %q (KEY=VALUE plus NUL)", key), Key: key, Size: n, Limit: MaxVarSize}
	}
	return nil
}

// Validate checks every key and value of vars, in sorted key order, and
// then the size of the file Render would produce. It returns the first
// error found, or nil when Render(vars) is a valid env file that Parse
// reads back as vars.
func Validate(vars map[string]string) error {
	for _, k := range sortedKeys(vars) {
		if err := ValidateKey(k); err != nil {
			return err
		}
		if err := ValidateValue(k, vars[k]); err != nil {
			return err
		}
	}
	if n := renderedSize(vars); n > MaxFileSize {
		return &SizeError{What: "env file", Size: n, Limit: MaxFileSize}
	}
	return nil
}

// validValue is the content part of ValidateValue: no NUL, valid UTF-8.
func validValue(v string) bool {
	return strings.IndexByte(v, 0) < 0 && utf8.ValidString(v)
}

func varSize(key, value string) int { return len(key) + 1 + len(value) + 1 }

func firstInvalidUTF8(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return len(s)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

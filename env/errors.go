package env

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Sentinel errors. Every validation or parse error this package returns
// matches exactly one of ErrInvalidKey, ErrInvalidValue, ErrTooLarge or
// ErrSyntax with errors.Is (only a failing io.Reader's error, wrapped by
// ParseDotenv, matches none).
var (
	// ErrInvalidKey is matched by every key error.
	ErrInvalidKey = errors.New("invalid env key")
	// ErrInvalidValue is matched by every value error.
	ErrInvalidValue = errors.New("invalid env value")
	// ErrTooLarge is matched by every size-limit error.
	ErrTooLarge = errors.New("env too large")
	// ErrSyntax is matched by a dotenv syntax error (see ParseDotenv).
	ErrSyntax = errors.New("env syntax error")
)

// Key error kinds: the Kind of a *KeyError. Each also matches ErrInvalidKey.
var (
	// ErrEmptyKey: the key is the empty string.
	ErrEmptyKey = fmt.Errorf("%w: empty", ErrInvalidKey)
	// ErrKeyFirstChar: the first byte is not a letter or underscore.
	ErrKeyFirstChar = fmt.Errorf("%w: must start with a letter or _", ErrInvalidKey)
	// ErrKeyChar: a later byte is not a letter, digit or underscore.
	ErrKeyChar = fmt.Errorf("%w: only letters, digits and _ allowed", ErrInvalidKey)
)

// Value error kinds: the Kind of a *ValueError. Each also matches
// ErrInvalidValue.
var (
	// ErrValueNUL: the value contains a NUL byte, which no shell variable
	// or exec environment string can hold.
	ErrValueNUL = fmt.Errorf("%w: contains NUL", ErrInvalidValue)
	// ErrValueUTF8: the value is not valid UTF-8.
	ErrValueUTF8 = fmt.Errorf("%w: not valid UTF-8", ErrInvalidValue)
)

// KeyError says why a key is not a valid env key.
type KeyError struct {
	Key  string // the key as given
	Kind error  // ErrEmptyKey, ErrKeyFirstChar or ErrKeyChar
	Pos  int    // byte offset of the offending byte; 0 for ErrEmptyKey
}

// Error names the key with %q so control characters are visible, and
// the offending character.
func (e *KeyError) Error() string {
	if errors.Is(e.Kind, ErrEmptyKey) || e.Pos < 0 || e.Pos >= len(e.Key) {
		return fmt.Sprintf("invalid env key %q: %s", e.Key, kindDetail(e.Kind))
	}
	bad := e.Key[e.Pos : e.Pos+1]
	if r, size := utf8.DecodeRuneInString(e.Key[e.Pos:]); r != utf8.RuneError || size > 1 {
		bad = string(r)
	}
	return fmt.Sprintf("invalid env key %q: %q at offset %d: %s", e.Key, bad, e.Pos, kindDetail(e.Kind))
}

// Unwrap returns Kind, which in turn wraps ErrInvalidKey.
func (e *KeyError) Unwrap() error { return e.Kind }

// ValueError says why the value of Key is not a valid env value. It never
// holds or prints the value.
type ValueError struct {
	Key  string // the key whose value is invalid
	Kind error  // ErrValueNUL or ErrValueUTF8
	Pos  int    // byte offset in the value of the first offending byte
}

// Error names the key and the offset, never the value.
func (e *ValueError) Error() string {
	return fmt.Sprintf("invalid env value for %q: %s at byte %d", e.Key, kindDetail(e.Kind), e.Pos)
}

// Unwrap returns Kind, which in turn wraps ErrInvalidValue.
func (e *ValueError) Unwrap() error { return e.Kind }

// SizeError says that something is over one of the package's size limits.
type SizeError struct {
	What  string // "variable \"KEY\"" or "env file"
	Key   string // the key for a single-variable error, "" for the file
	Size  int    // the size counted, in bytes
	Limit int    // the largest size allowed, in bytes
}

// Error states the size and the limit.
func (e *SizeError) Error() string {
	return fmt.Sprintf("%s too large: %d bytes, limit %d", e.What, e.Size, e.Limit)
}

// Unwrap returns ErrTooLarge.
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// LineError places an error at a line of a dotenv file.
type LineError struct {
	Line int   // 1-based line number where the offending entry starts
	Err  error // the underlying error, e.g. a *KeyError or ErrSyntax
}

// Error reads "line N: ...".
func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns Err.
func (e *LineError) Unwrap() error { return e.Err }

// kindDetail is a kind's message without the sentinel prefix it wraps.
func kindDetail(kind error) string {
	s := kind.Error()
	for _, p := range []error{ErrInvalidKey, ErrInvalidValue} {
		if pre := p.Error() + ": "; len(s) > len(pre) && s[:len(pre)] == pre {
			return s[len(pre):]
		}
	}
	return s
}

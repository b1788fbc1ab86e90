package env

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		kind error // nil: valid
		pos  int
	}{
		{"upper", "APP_MODE", nil, 0},
		{"lower", "path", nil, 0},
		{"underscore only", "_", nil, 0},
		{"underscore then digit", "_1", nil, 0},
		{"letter then digits", "A123", nil, 0},
		{"long", strings.Repeat("K", 4096), nil, 0},
		{"empty", "", ErrEmptyKey, 0},
		{"digit first", "1A", ErrKeyFirstChar, 0},
		{"dash first", "-A", ErrKeyFirstChar, 0},
		{"dash inside", "FOO-BAR", ErrKeyChar, 3},
		{"equals inside", "A=B", ErrKeyChar, 1},
		{"trailing newline", "FOO\n", ErrKeyChar, 3},
		{"leading newline", "\nFOO", ErrKeyFirstChar, 0},
		{"space inside", "A B", ErrKeyChar, 1},
		{"trailing space", "A ", ErrKeyChar, 1},
		{"dot inside", "a.b", ErrKeyChar, 1},
		{"NUL inside", "A\x00", ErrKeyChar, 1},
		{"non-ASCII letter", "Aé", ErrKeyChar, 1},
		{"non-ASCII first", "éA", ErrKeyFirstChar, 0},
		{"dollar", "$A", ErrKeyFirstChar, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateKey(tt.key)
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("ValidateKey(%q) = %v, want nil", tt.key, err)
				}
				return
			}
			if !errors.Is(err, tt.kind) || !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("ValidateKey(%q) = %v, want %v wrapping ErrInvalidKey", tt.key, err, tt.kind)
			}
			if errors.Is(err, ErrInvalidValue) || errors.Is(err, ErrTooLarge) {
				t.Fatalf("key error %v matches another sentinel", err)
			}
			var ke *KeyError
			if !errors.As(err, &ke) || ke.Key != tt.key || ke.Pos != tt.pos {
				t.Fatalf("want *KeyError{Key: %q, Pos: %d}, got %#v", tt.key, tt.pos, ke)
			}
			if q := fmt.Sprintf("%q", tt.key); !strings.Contains(err.Error(), q) {
				t.Fatalf("message %q does not name the key as %s", err, q)
			}
		})
	}
}

func TestValidateValue(t *testing.T) {
	const secret = "s3cr3t-value"
	atLimit := strings.Repeat("v", MaxVarSize-len("K")-2)
	tests := []struct {
		name  string
		value string
		is    error // nil: valid
		kind  error
		pos   int
	}{
		{"empty", "", nil, nil, 0},
		{"multi-line UTF-8", "héllo\n世界\r\n🚀\u2028", nil, nil, 0},
		{"control bytes", "\x01\x1b\x7f", nil, nil, 0},
		{"exactly the var limit", atLimit, nil, nil, 0},
		{"NUL", secret + "\x00", ErrInvalidValue, ErrValueNUL, len(secret)},
		{"NUL first", "\x00" + secret, ErrInvalidValue, ErrValueNUL, 0},
		{"invalid UTF-8", secret + "\xff", ErrInvalidValue, ErrValueUTF8, len(secret)},
		{"truncated rune", secret + "\xe4\xb8", ErrInvalidValue, ErrValueUTF8, len(secret)},
		{"surrogate", secret + "\xed\xa0\x80", ErrInvalidValue, ErrValueUTF8, len(secret)},
		{"one over the var limit", atLimit + "v", ErrTooLarge, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateValue("K", tt.value)
			if tt.is == nil {
				if err != nil {
					t.Fatalf("ValidateValue = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("ValidateValue = %v, want it to match %v", err, tt.is)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q leaks the value", err)
			}
			if !strings.Contains(err.Error(), `"K"`) {
				t.Fatalf("error %q does not name the key", err)
			}
			if tt.kind != nil {
				var ve *ValueError
				if !errors.As(err, &ve) || !errors.Is(ve.Kind, tt.kind) || ve.Key != "K" || ve.Pos != tt.pos {
					t.Fatalf("want *ValueError{K, %v, %d}, got %#v", tt.kind, tt.pos, ve)
				}
			} else {
				var se *SizeError
				if !errors.As(err, &se) || se.Size != MaxVarSize+1 || se.Limit != MaxVarSize || se.Key != "K" {
					t.Fatalf("want *SizeError{Size: %d, Limit: %d}, got %#v", MaxVarSize+1, MaxVarSize, se)
				}
				if !strings.Contains(err.Error(), fmt.Sprint(MaxVarSize)) {
					t.Fatalf("error %q does not state the limit", err)
				}
			}
		})
	}
}

// fileOfSize returns a valid map whose rendered file is exactly n bytes.
func fileOfSize(t *testing.T, n int) map[string]string {
	t.Helper()
	m := map[string]string{}
	size := len(headerLines)
	for i := 0; ; i++ {
		k := fmt.Sprintf("K%02d", i)
		room := n - size - (len(exportWord) + len(k) + 2) // a bare value
		if room < 1 {
			t.Fatalf("cannot build a file of %d bytes", n)
		}
		v := strings.Repeat("v", min(room, MaxVarSize-len(k)-2))
		m[k] = v
		size += lineSize(k, v)
		if size == n {
			return m
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		is   error
	}{
		{"nil map", nil, nil},
		{"nasty values", nastyMap(1), nil},
		{"file at the limit", fileOfSize(t, MaxFileSize), nil},
		{"file one over the limit", fileOfSize(t, MaxFileSize+1), ErrTooLarge},
		{"bad key", map[string]string{"OK": "1", "FOO-BAR": "x"}, ErrInvalidKey},
		{"key with newline", map[string]string{"FOO\n": "x"}, ErrInvalidKey},
		{"NUL value", map[string]string{"A": "a\x00b"}, ErrInvalidValue},
		{"bad UTF-8 value", map[string]string{"A": "\xc3"}, ErrInvalidValue},
		{"value too large", map[string]string{"A": strings.Repeat("x", MaxVarSize)}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderedSize(tt.vars); got != len(Render(tt.vars)) {
				t.Fatalf("renderedSize = %d, len(Render) = %d", got, len(Render(tt.vars)))
			}
			err := Validate(tt.vars)
			if tt.is == nil && err != nil || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("Validate = %v, want %v", err, tt.is)
			}
		})
	}
}

// A file over the limit reports the rendered size, not the raw bytes.
func TestValidateFileSizeError(t *testing.T) {
	m := fileOfSize(t, MaxFileSize+1)
	var se *SizeError
	if err := Validate(m); !errors.As(err, &se) || se.Size != MaxFileSize+1 || se.Limit != MaxFileSize || se.Key != "" {
		t.Fatalf("Validate = %v (%#v), want file SizeError %d > %d", err, se, MaxFileSize+1, MaxFileSize)
	}
	// Quoting expands: 200 KiB of ' renders to 1 MiB.
	quotes := map[string]string{}
	for i := 0; i < 6; i++ {
		quotes[fmt.Sprintf("Q%d", i)] = strings.Repeat("'", 40<<10)
	}
	if err := Validate(quotes); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Validate(240 KiB of quotes) = %v, want ErrTooLarge (rendered %d bytes)", err, len(Render(quotes)))
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"empty key", ValidateKey(""), `invalid env key "": empty`},
		{"dash", ValidateKey("FOO-BAR"), `invalid env key "FOO-BAR": "-" at offset 3: only letters, digits and _ allowed`},
		{"newline", ValidateKey("FOO\n"), `invalid env key "FOO\n": "\n" at offset 3: only letters, digits and _ allowed`},
		{"digit first", ValidateKey("1A"), `invalid env key "1A": "1" at offset 0: must start with a letter or _`},
		{"non-ASCII", ValidateKey("Aé"), `invalid env key "Aé": "é" at offset 1: only letters, digits and _ allowed`},
		{"invalid UTF-8 in key", ValidateKey("A\xff"), `invalid env key "A\xff": "\xff" at offset 1: only letters, digits and _ allowed`},
		{"NUL value", ValidateValue("K", "ab\x00"), `invalid env value for "K": contains NUL at byte 2`},
		{"bad UTF-8 value", ValidateValue("K", "\xff"), `invalid env value for "K": not valid UTF-8 at byte 0`},
		{"var too large", ValidateValue("K", strings.Repeat("x", MaxVarSize)),
			`variable "K" (KEY=VALUE plus NUL) too large: 131075 bytes, limit 131072`},
		{"file too large", Validate(fileOfSize(t, MaxFileSize+1)), `env file too large: 1048576 bytes, limit 1048575`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || tt.err.Error() != tt.want {
				t.Fatalf("got %v, want %s", tt.err, tt.want)
			}
		})
	}
}

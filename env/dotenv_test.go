package env

import (
	"errors"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseDotenv(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		name string
		in   string
		want m
	}{
		{"empty file", "", m{}},
		{"simple", "A=1\nB=two\n", m{"A": "1", "B": "two"}},
		{"export prefix", "export A=1\nexport\tB=2\n", m{"A": "1", "B": "2"}},
		{"key named export", "export=1\n", m{"export": "1"}},
		{"full-line comments and blank lines", "# c\n\n   \n\t# indented\nA=1\n", m{"A": "1"}},
		{"trailing comment on unquoted", "A=1 # one\nB=2\t# two\n", m{"A": "1", "B": "2"}},
		{"hash without blank is literal", "A=x#y\nB=#z\n", m{"A": "x#y", "B": "#z"}},
		{"blank then hash is a comment", "A= #c\n", m{"A": ""}},
		{"unquoted trimmed", "A=   x y  \n", m{"A": "x y"}},
		{"blanks around key and =", "  A  =1\n", m{"A": "1"}},
		{"empty value", "A=\nB=''\nC=\"\"\n", m{"A": "", "B": "", "C": ""}},
		{"CRLF", "A=1\r\nB='x'\r\nC=\"y\r\nz\"\r\n", m{"A": "1", "B": "x", "C": "y\nz"}},
		{"missing final newline", "A=1\nB=2", m{"A": "1", "B": "2"}},
		{"single quotes literal", `A='a\nb $X "q"'` + "\n", m{"A": `a\nb $X "q"`}},
		{"single quotes keep blanks and hash", "A='  x # y  '\n", m{"A": "  x # y  "}},
		{"single quotes span lines", "A='l1\nl2'\nB=3\n", m{"A": "l1\nl2", "B": "3"}},
		{"double-quote escapes", `A="a\nb\tc\rd\"e\\f\$g"` + "\n", m{"A": "a\nb\tc\rd\"e\\f$g"}},
		{"unknown escape kept", `A="\q\x"` + "\n", m{"A": `\q\x`}},
		{"no expansion", `A="$HOME ${X}"` + "\nB=$HOME\n", m{"A": "$HOME ${X}", "B": "$HOME"}},
		{"double quotes span lines", "A=\"l1\nexport EVIL=1\nl3\"\nB=2\n", m{"A": "l1\nexport EVIL=1\nl3", "B": "2"}},
		{"comment after closing quote", "A='x' # c\nB=\"y\"#c\n", m{"A": "x", "B": "y"}},
		{"quotes inside unquoted are literal", "A=it's\nB=a\"b\n", m{"A": "it's", "B": "a\"b"}},
		{"last duplicate wins", "A=1\nA=2\n", m{"A": "2"}},
		{"non-ASCII", "A=héllo 世界 🚀\n", m{"A": "héllo 世界 🚀"}},
		{"equals in value", "A=b=c\n", m{"A": "b=c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDotenv(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseDotenv: %v", err)
			}
			if !maps.Equal(got, tt.want) || got == nil {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseDotenvErrors(t *testing.T) {
	const secret = "hunter2"
	tests := []struct {
		name string
		in   string
		line int
		is   error
	}{
		{"missing =", "A=1\n" + secret + "\n", 2, ErrSyntax},
		{"invalid key", "# c\n\nFOO-BAR=" + secret + "\n", 3, ErrKeyChar},
		{"digit-first key", "1A=" + secret, 1, ErrKeyFirstChar},
		{"empty key", "=" + secret, 1, ErrEmptyKey},
		{"key with inner blank", "A B=" + secret, 1, ErrInvalidKey},
		{"unterminated single quote", "A=1\nB='" + secret + "\nC=2\n", 2, ErrSyntax},
		{"unterminated double quote", "B=\"" + secret, 1, ErrSyntax},
		{"text after closing quote", "A='" + secret + "' x\n", 1, ErrSyntax},
		{"NUL value", "A=1\nB=a\x00" + secret + "\n", 2, ErrValueNUL},
		{"invalid UTF-8", "A='\xff" + secret + "'\n", 1, ErrValueUTF8},
		{"value too large", "A=" + strings.Repeat("x", MaxVarSize), 1, ErrTooLarge},
		{"error after a multi-line value", "A=\"1\n2\n3\"\nBAD-KEY=" + secret + "\n", 4, ErrInvalidKey},
		{"error counts CRLF lines once", "A=1\r\nB=2\r\n-=" + secret + "\r\n", 3, ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDotenv(strings.NewReader(tt.in))
			var le *LineError
			if !errors.As(err, &le) || le.Line != tt.line || !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want line %d matching %v", err, tt.line, tt.is)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("message %q does not start with the line", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("message %q leaks a value", err)
			}
		})
	}
}

func TestParseDotenvLimits(t *testing.T) {
	big := strings.Repeat("#", MaxFileSize+1)
	if _, err := ParseDotenv(strings.NewReader(big)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized file: %v, want ErrTooLarge", err)
	}
	if _, err := ParseDotenv(iotest.ErrReader(errors.New("boom"))); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("reader error: %v", err)
	}
}

// renderDotenv writes vars in the dotenv format with double quotes, the
// inverse ParseDotenv must honour (test-only).
func renderDotenv(vars map[string]string) string {
	r := strings.NewReplacer("\\", `\\`, "\"", `\"`, "$", `\$`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	var b strings.Builder
	for _, k := range sortedKeys(vars) {
		b.WriteString(k + "=\"" + r.Replace(vars[k]) + "\"\n")
	}
	return b.String()
}

func TestParseDotenvRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 300; i++ {
		m := map[string]string(genMap(r, 20))
		got, err := ParseDotenv(strings.NewReader(renderDotenv(m)))
		if err != nil || !maps.Equal(got, m) {
			t.Fatalf("round trip of %q: %q, %v", m, got, err)
		}
	}
	nasty := nastyMap(1)
	got, err := ParseDotenv(strings.NewReader(renderDotenv(nasty)))
	if err != nil || !maps.Equal(got, nasty) {
		t.Fatalf("round trip of the nasty map failed: %v", err)
	}
}

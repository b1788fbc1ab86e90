package env

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/testenv"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain word stays bare", "hello", "hello"},
		{"empty is two quotes", "", "''"},
		{"apostrophe", "it's", `'it'"'"'s'`},
		{"dollar is quoted", "price is $5", "'price is $5'"},
		{"space is quoted", "hello world", "'hello world'"},
		{"every safe byte stays bare", "azAZ09_@%+=:,./-", "azAZ09_@%+=:,./-"},
		{"lone quote", "'", `''"'"''`},
		{"quote run", "''", `''"'"''"'"''`},
		{"newline", "a\nb", "'a\nb'"},
		{"CR", "a\rb", "'a\rb'"},
		{"non-ASCII forces quotes", "é", "'é'"},
		{"U+2028 kept raw", "\u2028", "'\u2028'"},
		{"backslash", `a\b`, `'a\b'`},
		{"double quote", `"`, `'"'`},
		{"tilde", "~", "'~'"},
		{"glob", "*", "'*'"},
		{"leading dash stays bare", "-n", "-n"},
		{"hash", "#x", "'#x'"},
		{"bang", "!", "'!'"},
		{"caret", "^", "'^'"},
		{"tab", "\t", "'\t'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.in); got != tt.want {
				t.Fatalf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if n := quotedLen(tt.in); n != len(tt.want) {
				t.Fatalf("quotedLen(%q) = %d, want %d", tt.in, n, len(tt.want))
			}
		})
	}
}

// TestQuoteMatchesPython runs Python's shlex.quote as the oracle over every
// single byte, every nasty value, random valid and random invalid-UTF-8
// strings. Bytes travel hex-encoded and are decoded with surrogateescape,
// so Python sees exactly the Go bytes.
func TestQuoteMatchesPython(t *testing.T) {
	py := testenv.RequireTool(t, "python3")
	var inputs []string
	for c := 0; c < 256; c++ {
		inputs = append(inputs, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	inputs = append(inputs, nastyValues()...)
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 3000; i++ {
		inputs = append(inputs, randomValue(r, 12))
		raw := make([]byte, r.IntN(16))
		for j := range raw {
			raw[j] = byte(r.Uint32())
		}
		inputs = append(inputs, string(raw))
	}
	inputs = append(inputs, strings.Repeat("'x", 50000))

	var in bytes.Buffer
	for _, s := range inputs {
		in.WriteString(hex.EncodeToString([]byte(s)) + "\n")
	}
	const prog = `import sys, shlex
for line in sys.stdin:
    s = bytes.fromhex(line.strip()).decode("utf-8", "surrogateescape")
    sys.stdout.write(shlex.quote(s).encode("utf-8", "surrogateescape").hex() + "\n")
`
	cmd := exec.Command(py, "-c", prog)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<22)
	i := 0
	for ; sc.Scan(); i++ {
		want, err := hex.DecodeString(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		if got := Quote(inputs[i]); got != string(want) {
			t.Errorf("Quote(%q) = %q, shlex.quote = %q", inputs[i], got, want)
		}
	}
	if i != len(inputs) {
		t.Fatalf("python answered %d of %d inputs", i, len(inputs))
	}
}

// TestQuoteUnquotes checks that the package's own reader gives every
// quoted value back and that Quote's output is always one shell word.
func TestQuoteUnquotes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	values := nastyValues()
	for i := 0; i < 2000; i++ {
		values = append(values, randomValue(r, 20))
	}
	for _, v := range values {
		got, ok := unquote(Quote(v))
		if !ok || got != v {
			t.Errorf("unquote(Quote(%q)) = %q, %v", v, got, ok)
		}
	}
}

// unquote reads s as exactly one shell word with the package's lexer.
func unquote(s string) (string, bool) {
	lx := newLexer([]byte(s))
	ll, ok := lx.next()
	if !ok || lx.pos != len(s) || ll.unterminated || len(ll.words) != 1 || ll.words[0].unsupported {
		return "", false
	}
	return ll.words[0].text, true
}

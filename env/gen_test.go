package env

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// nastyValues are the values the matrix names plus the cases that
// break naive quoting or line-based readers. All are valid values.
func nastyValues() []string {
	return []string{
		"", "hello", "it's", "'", "''", "'''", "a'b'c", "price is $5", "hello world",
		"I'm", "a b", "$HOME $(touch /tmp/p) `id` !! #x", "*", "~/x", "-n", "-e", "%s%d",
		`C:\path\n`, "a\nb", "abc\n\n", "\n", "\n\n\n", "a\r\nb", "\r", "trail\r",
		"héllo 世界 🚀", "\u2028", "a\u2028b\u2029c", "\u0085", "x\u0085y", "\ufeffbom",
		"x\nexport EVIL=1", "\nexport EVIL=x\n", "'\nexport EVIL=x\n'", "\"\nexport EVIL=x #",
		"  leading", "trailing  ", "\ttab\t", " ", "#not a comment", "a #b", "\\", "\\\n",
		"back\\slash", `"double"`, `\"`, `'"'"'`, `'\''`, "=", "a=b", "--", "@%+=:,./-_",
		"${X:-y}", "$((1+1))", "a;b", "a&&b", "a|b", "<x>", "(x)", "{a,b}", "[ab]", "?",
		"!", "\x01\x02\x7f", "\x1b[31mred\x1b[0m", "\v\f", "EOF", "<<EOF\nx\nEOF",
		"'\\''", "'\"'\"'", strings.Repeat("'", 40), strings.Repeat("\n", 7) + "x",
	}
}

// valueAlphabet is weighted toward bytes that matter to a shell.
var valueAlphabet = []string{
	"a", "Z", "0", "_", "-", ".", "/", "=", ":", ",", "@", "%", "+",
	"'", "'", "''", "\"", "\\", "$", "`", "!", "#", "*", "?", "[", "]", "{", "}",
	"~", ";", "&", "|", "<", ">", "(", ")", " ", "\t", "\n", "\n", "\r", "\r\n",
	"\x01", "\x1b", "\x7f", "é", "世", "🚀", "\u2028", "\u0085", "\ufeff",
	"export EVIL=x", "\nexport EVIL=1\n", "'\\''", "'\"'\"'", "$(id)", "EOF",
}

// randomValue builds a valid value from valueAlphabet.
func randomValue(r *rand.Rand, maxParts int) string {
	var b strings.Builder
	for n := r.IntN(maxParts + 1); n > 0; n-- {
		b.WriteString(valueAlphabet[r.IntN(len(valueAlphabet))])
	}
	return b.String()
}

// randomKey builds a valid key.
func randomKey(r *rand.Rand) string {
	const first = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
	const rest = first + "0123456789"
	b := []byte{first[r.IntN(len(first))]}
	for n := r.IntN(12); n > 0; n-- {
		b = append(b, rest[r.IntN(len(rest))])
	}
	return string(b)
}

// nastyMap gives every nasty value its own key (V000, V001, ...), plus a
// handful of seeded random values and one of 100 KiB.
func nastyMap(seed uint64) map[string]string {
	m := map[string]string{}
	for i, v := range nastyValues() {
		m[fmt.Sprintf("V%03d", i)] = v
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 40; i++ {
		m[fmt.Sprintf("R%03d", i)] = randomValue(r, 30)
	}
	m["BIG"] = strings.Repeat("x'\n\u2028y!", 100<<10/8) // 100 KiB
	return m
}

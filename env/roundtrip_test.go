package env

import (
	"maps"
	mrand "math/rand"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
)

// checkRoundTrip requires Parse(Render(m)) == m with nothing skipped.
func checkRoundTrip(t *testing.T, m map[string]string) {
	t.Helper()
	data := Render(m)
	got, skipped := ParseReport(data)
	if len(skipped) != 0 {
		t.Fatalf("rendered file has skipped lines: %+v", skipped)
	}
	if !maps.Equal(got, m) {
		for k, v := range m {
			if got[k] != v {
				t.Errorf("%s: got %q, want %q", k, got[k], v)
			}
		}
		t.Fatalf("round trip lost data: %d keys in, %d out", len(m), len(got))
	}
	if _, ok := got["EVIL"]; ok {
		t.Fatal("a value was read back as a second variable EVIL")
	}
}

func TestRoundTripNasty(t *testing.T) {
	m := nastyMap(1)
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, m)
	for k, v := range m { // each value alone, too
		checkRoundTrip(t, map[string]string{k: v})
	}
}

func TestRoundTripHard(t *testing.T) {
	tests := map[string]string{
		"multi-line":        "line1\nline2\nline3",
		"trailing newlines": "x\n\n\n",
		"only newlines":     "\n\n",
		"CR and CRLF":       "a\rb\r\nc\r",
		"U+2028 U+0085":     "a\u2028b\u0085c\u2029",
		"quote runs":        "''''''x'''''",
		"leading blanks":    "   \t x",
		"trailing blanks":   "x \t  ",
		"injection":         "x\nexport EVIL=x",
		"100 KiB":           strings.Repeat("0123456789abcde'", 100<<10/16),
		"at var limit":      strings.Repeat("y", MaxVarSize-len("K")-2),
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			checkRoundTrip(t, map[string]string{"K": v, "A": "before", "Z": "after"})
		})
	}
}

// validMap is a testing/quick generator of valid maps built from the
// shell-hostile alphabet.
type validMap map[string]string

func (validMap) Generate(qr *mrand.Rand, size int) reflect.Value {
	return reflect.ValueOf(genMap(rand.New(rand.NewPCG(qr.Uint64(), qr.Uint64())), size))
}

func genMap(r *rand.Rand, size int) validMap {
	m := validMap{}
	for n := r.IntN(size + 1); n > 0; n-- {
		m[randomKey(r)] = randomValue(r, size)
	}
	return m
}

func TestRoundTripProperty(t *testing.T) {
	prop := func(m validMap) bool {
		got, skipped := ParseReport(Render(m))
		return len(skipped) == 0 && maps.Equal(got, map[string]string(m))
	}
	cfg := &quick.Config{MaxCount: 2000, Rand: mrand.New(mrand.NewSource(42))}
	if err := quick.Check(prop, cfg); err != nil {
		t.Fatal(err)
	}
}

// The writer's output, re-rendered after parsing, is byte-identical.
func TestRenderParseRenderStable(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 500; i++ {
		m := genMap(r, 20)
		first := Render(m)
		parsed, err := Parse(first)
		if err != nil {
			t.Fatal(err)
		}
		if second := Render(parsed); string(first) != string(second) {
			t.Fatalf("Render(Parse(Render(m))) differs for %q", m)
		}
	}
}

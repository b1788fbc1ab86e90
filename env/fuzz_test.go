package env

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; `make fuzz` explores.

// FuzzParse: Parse never panics, everything it returns is valid, and
// Parse -> Render -> Parse is stable with nothing skipped.
func FuzzParse(f *testing.F) {
	f.Add([]byte(header + "export A='it'\"'\"'s'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m1, skipped := ParseReport(data)
		for _, s := range skipped {
			if s.Line < 1 || s.Reason == "" {
				t.Fatalf("bad skip report %+v", s)
			}
		}
		for k, v := range m1 {
			if err := ValidateKey(k); err != nil {
				t.Fatalf("Parse returned invalid key: %v", err)
			}
			if err := ValidateValue(k, v); err != nil {
				t.Fatalf("Parse returned invalid value: %v", err)
			}
		}
		if p, err := Parse(data); len(data) <= MaxFileSize && (err != nil || !maps.Equal(p, m1)) {
			t.Fatalf("Parse and ParseReport disagree: %v", err)
		}
		rendered := Render(m1)
		m2, skipped2 := ParseReport(rendered)
		if len(skipped2) != 0 || !maps.Equal(m1, m2) {
			t.Fatalf("Parse(Render(Parse(data))) = %q (skipped %+v), want %q", m2, skipped2, m1)
		}
		if !bytes.Equal(Render(m2), rendered) {
			t.Fatal("Render not stable")
		}
	})
}

// fuzzMap turns fuzz bytes into a valid map: NUL-separated fields; a
// field "KEY=VALUE" with a valid KEY uses it, any other field is a value
// for K<i>; invalid values are dropped.
func fuzzMap(data []byte) map[string]string {
	m := map[string]string{}
	for i, field := range bytes.Split(data, []byte{0}) {
		key, value := fmt.Sprintf("K%d", i), string(field)
		if k, v, ok := strings.Cut(value, "="); ok && ValidateKey(k) == nil {
			key, value = k, v
		}
		if ValidateValue(key, value) == nil {
			m[key] = value
		}
	}
	return m
}

// FuzzRoundTrip: Parse(Render(m)) == m for every valid m.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("it's\x00\nexport EVIL=x\x00A=b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := fuzzMap(data)
		got, skipped := ParseReport(Render(m))
		if len(skipped) != 0 || !maps.Equal(got, m) {
			t.Fatalf("round trip: got %q (skipped %+v), want %q", got, skipped, m)
		}
	})
}

// FuzzQuote: for every valid value, the package's own unquoting of
// Quote(v) gives v back, a safe result is bare, and an export line with
// it parses to v.
func FuzzQuote(f *testing.F) {
	f.Add("it's")
	f.Fuzz(func(t *testing.T, v string) {
		q := Quote(v)
		if q == v && (v == "" || !isSafe(v)) || q != v && v != "" && isSafe(v) {
			t.Fatalf("Quote(%q) = %q: wrong bare/quoted choice", v, q)
		}
		if len(q) != quotedLen(v) {
			t.Fatalf("quotedLen(%q) = %d, want %d", v, quotedLen(v), len(q))
		}
		if !validValue(v) {
			return
		}
		if got, ok := unquote(q); !ok || got != v {
			t.Fatalf("unquote(Quote(%q)) = %q, %v", v, got, ok)
		}
		if ValidateValue("K", v) == nil {
			m, _ := Parse([]byte("export K=" + q))
			if m["K"] != v || len(m) != 1 {
				t.Fatalf("Parse(export K=Quote(%q)) = %q", v, m)
			}
		}
	})
}

// FuzzParseDotenv: never panics; whatever it accepts is valid and survives
// a round trip through the double-quoted dotenv form.
func FuzzParseDotenv(f *testing.F) {
	f.Add([]byte("export A=\"x\\ny\" # c\nB='z'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseDotenv(bytes.NewReader(data))
		if err != nil {
			if m != nil {
				t.Fatal("map returned with an error")
			}
			return
		}
		for k, v := range m {
			if ValidateKey(k) != nil || ValidateValue(k, v) != nil {
				t.Fatalf("accepted invalid entry for %q", k)
			}
		}
		again, err := ParseDotenv(strings.NewReader(renderDotenv(m)))
		if err != nil || !maps.Equal(again, m) {
			t.Fatalf("dotenv round trip: %q, %v; want %q", again, err, m)
		}
	})
}

package env

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	type m = map[string]string
	type sk = []Skipped
	tests := []struct {
		name    string
		in      string
		want    m
		skipped sk
	}{
		{"empty input", "", m{}, nil},
		{"empty form", "# SmolVM environment variables (empty)\n", m{}, nil},
		{"header and bare value", header + "export APP_MODE=production\n", m{"APP_MODE": "production"}, nil},
		{"hello", "export K=hello\n", m{"K": "hello"}, nil},
		{"it's in Render's style", `export K='it'"'"'s'` + "\n", m{"K": "it's"}, nil},
		{"it's in the '\\'' style", `export K='it'\''s'` + "\n", m{"K": "it's"}, nil},
		{"it's in double quotes", `export K="it's"` + "\n", m{"K": "it's"}, nil},
		{"it's with a backslash", `export K=it\'s` + "\n", m{"K": "it's"}, nil},
		{"empty value", "export K=''\n", m{"K": ""}, nil},
		{"bare empty value", "export K=\n", m{"K": ""}, nil},
		{"price is $5 quoted", "export K='price is $5'\n", m{"K": "price is $5"}, nil},
		{"hello world quoted", "export K='hello world'\n", m{"K": "hello world"}, nil},
		{"double-quote escapes", `export K="a\$b\"c\\d\e` + "`" + `"` + "\n", nil, sk{{1, "", ReasonUnsupported}}},
		{"double-quote escapes without backtick", `export K="a\$b\"c\\d\e\` + "`" + `"` + "\n", m{"K": "a$b\"c\\d\\e`"}, nil},
		{"double-quote line continuation", "export K=\"a\\\nb\"\n", m{"K": "ab"}, nil},
		{"multi-line single quotes", "export K='a\nb\n'\nexport L=2\n", m{"K": "a\nb\n", "L": "2"}, nil},
		{"injection stays in the value", "export K='x\nexport EVIL=1\n'\n", m{"K": "x\nexport EVIL=1\n"}, nil},
		{"injection in double quotes", "export K=\"x\nexport EVIL=1\"\n", m{"K": "x\nexport EVIL=1"}, nil},
		{"CR inside quotes kept", "export K='a\r\nb\r'\n", m{"K": "a\r\nb\r"}, nil},
		{"U+2028 and U+0085 are not line ends", "export K='a\u2028b\u0085c'\n", m{"K": "a\u2028b\u0085c"}, nil},
		{"CRLF file", "#!/bin/sh\r\n# c\r\n\r\nexport A=1\r\nexport B='x y'\r\n", m{"A": "1", "B": "x y"}, nil},
		{"missing final newline", "export A=1\nexport B='two'", m{"A": "1", "B": "two"}, nil},
		{"comments and blank lines", "# export A=1\n\n   \n\t# x\nexport B=2\n", m{"B": "2"}, nil},
		{"apostrophe in a comment", "# it's\nexport A=1\n", m{"A": "1"}, nil},
		{"trailing comment", "export A=1 # set by hand\nexport B='x' #c\n", m{"A": "1", "B": "x"}, nil},
		{"hash inside a word is literal", "export A=x#y\n", m{"A": "x#y"}, nil},
		{"leading blanks", "  \texport A=1\n", m{"A": "1"}, nil},
		{"blanks after export", "export \t A=1\n", m{"A": "1"}, nil},
		{"last duplicate wins", "export A=1\nexport A=2\nexport A='3'\n", m{"A": "3"}, nil},
		{"quoted key", "export 'A'=1\nexport \"B=2\"\n", m{"A": "1", "B": "2"}, nil},
		{"backslash continuation", "export A=x\\\ny\n", m{"A": "xy"}, nil},
		{"lone CR in a bare word", "export A=x\ry\n", m{"A": "x\ry"}, nil},
		{"non-ASCII bare", "export A=héllo\n", m{"A": "héllo"}, nil},
		{"non-export line", "A=1\nexport B=2\n", m{"B": "2"}, sk{{1, "", ReasonNotExport}}},
		{"quoted export word", "'export' A=1\n", m{}, sk{{1, "", ReasonNotExport}}},
		{"other command", "echo 'x\nexport EVIL=1'\nexport B=2\n", m{"B": "2"}, sk{{1, "", ReasonNotExport}}},
		{"invalid key skipped", "export FOO-BAR=x\nexport OK=1\n", m{"OK": "1"}, sk{{1, "FOO-BAR", ReasonInvalidKey}}},
		{"invalid key with multi-line value", "export 1A='x\nexport EVIL=1'\nexport OK=1\n", m{"OK": "1"}, sk{{1, "1A", ReasonInvalidKey}}},
		{"export without assignment", "export A\n", m{}, sk{{1, "", ReasonNotOneAssign}}},
		{"export alone", "export\n", m{}, sk{{1, "", ReasonNotOneAssign}}},
		{"two assignments", "export A=1 B=2\n", m{}, sk{{1, "", ReasonNotOneAssign}}},
		{"bash export -n", "export -n A=1\n", m{}, sk{{1, "", ReasonNotOneAssign}}},
		{"expansion", "export A=$HOME\n", m{}, sk{{1, "", ReasonUnsupported}}},
		{"expansion in double quotes", `export A="$HOME"` + "\n", m{}, sk{{1, "", ReasonUnsupported}}},
		{"command substitution", "export A=`id`\n", m{}, sk{{1, "", ReasonUnsupported}}},
		{"operator", "export A=1; rm -rf /\nexport B=2\n", m{"B": "2"}, sk{{1, "", ReasonUnsupported}}},
		{"glob", "export A=*\n", m{}, sk{{1, "", ReasonUnsupported}}},
		{"tilde", "export A=~/x\n", m{}, sk{{1, "", ReasonUnsupported}}},
		{"special bytes quoted are fine", "export A='$HOME;*~`'\n", m{"A": "$HOME;*~`"}, nil},
		{"NUL value skipped", "export A='a\x00b'\nexport B=1\n", m{"B": "1"}, sk{{1, "A", ReasonInvalidValue}}},
		{"invalid UTF-8 skipped", "export A='\xff'\n", m{}, sk{{1, "A", ReasonInvalidValue}}},
		{"value too large skipped", "export A=" + strings.Repeat("x", MaxVarSize) + "\n", m{}, sk{{1, "A", ReasonTooLarge}}},
		{"unterminated quote ends the file", "export A=1\nexport B='x\nexport C=3\n", m{"A": "1"}, sk{{2, "", ReasonUnterminated}}},
		{"unterminated double quote", "export B=\"x\n", m{}, sk{{1, "", ReasonUnterminated}}},
		{"line numbers count quoted newlines", "export A='1\n2\n3'\nbad\n", m{"A": "1\n2\n3"}, sk{{4, "", ReasonNotExport}}},
		{"line numbers count continuations", "export A=1\\\n2\nbad\n", m{"A": "12"}, sk{{3, "", ReasonNotExport}}},
		{"bad line does not block later ones", "export =x\nexport A=1\n", m{"A": "1"}, sk{{1, "", ReasonInvalidKey}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped := ParseReport([]byte(tt.in))
			if tt.want != nil && !maps.Equal(got, tt.want) {
				t.Errorf("vars = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(skipped, tt.skipped) {
				t.Errorf("skipped = %+v, want %+v", skipped, tt.skipped)
			}
			p, err := Parse([]byte(tt.in))
			if err != nil || !maps.Equal(p, got) {
				t.Errorf("Parse = %q, %v; ParseReport gave %q", p, err, got)
			}
			if err := Validate(got); err != nil {
				t.Errorf("parsed vars do not validate: %v", err)
			}
		})
	}
}

func TestParseNeverNil(t *testing.T) {
	m, err := Parse(nil)
	if err != nil || m == nil {
		t.Fatalf("Parse(nil) = %v, %v; want an empty map", m, err)
	}
}

func TestParseTooLarge(t *testing.T) {
	data := []byte("export A=1\n" + strings.Repeat("#", MaxFileSize))
	m, err := Parse(data)
	var se *SizeError
	if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) || se.Size != len(data) || se.Limit != MaxFileSize || m != nil {
		t.Fatalf("Parse(%d bytes) = %v, %v; want *SizeError", len(data), m, err)
	}
	if m, _ := ParseReport(data); m["A"] != "1" {
		t.Fatalf("ParseReport of a large file = %q, want A=1", m)
	}
	if _, err := Parse(data[:MaxFileSize]); err != nil {
		t.Fatalf("Parse at the limit: %v", err)
	}
}

// Skipped reports never carry a value: a secret on a bad line stays out.
func TestSkippedNeverHoldsValues(t *testing.T) {
	const secret = "hunter2"
	in := "export BAD-KEY=" + secret + "\nexport A=$" + secret + "\necho " + secret + "\nexport B='" + secret + "\x00'\nexport C='" + secret
	_, skipped := ParseReport([]byte(in))
	if len(skipped) != 5 {
		t.Fatalf("skipped = %+v, want 5 entries", skipped)
	}
	for _, s := range skipped {
		if strings.Contains(s.Key+s.Reason, secret) {
			t.Fatalf("skipped entry %+v leaks the value", s)
		}
	}
}

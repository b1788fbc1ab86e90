package env

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const header = "#!/bin/sh\n# SmolVM managed environment variables\n\n"

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"empty form for nil", nil, "# SmolVM environment variables (empty)\n"},
		{"empty form for empty map", map[string]string{}, "# SmolVM environment variables (empty)\n"},
		{"header and one bare value", map[string]string{"APP_MODE": "production"}, header + "export APP_MODE=production\n"},
		{"hello", map[string]string{"K": "hello"}, header + "export K=hello\n"},
		{"it's", map[string]string{"K": "it's"}, header + "export K='it'\"'\"'s'\n"},
		{"empty value", map[string]string{"K": ""}, header + "export K=''\n"},
		{"price is $5", map[string]string{"K": "price is $5"}, header + "export K='price is $5'\n"},
		{"hello world", map[string]string{"K": "hello world"}, header + "export K='hello world'\n"},
		{"sorted bytewise", map[string]string{"b": "1", "B": "2", "_": "3", "A1": "4", "A": "5"},
			header + "export A=5\nexport A1=4\nexport B=2\nexport _=3\nexport b=1\n"},
		{"multi-line value stays one command", map[string]string{"K": "a\nexport EVIL=x"},
			header + "export K='a\nexport EVIL=x'\n"},
		{"trailing newlines kept", map[string]string{"K": "x\n\n"}, header + "export K='x\n\n'\n"},
		{"CR kept raw", map[string]string{"K": "a\r\nb"}, header + "export K='a\r\nb'\n"},
		{"invalid key left out", map[string]string{"FOO-BAR": "x", "OK": "1"}, header + "export OK=1\n"},
		{"newline key left out", map[string]string{"FOO\nexport EVIL": "x"}, "# SmolVM environment variables (empty)\n"},
		{"NUL value left out", map[string]string{"A": "a\x00", "B": "b"}, header + "export B=b\n"},
		{"invalid UTF-8 left out", map[string]string{"A": "\xff"}, "# SmolVM environment variables (empty)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Render(tt.vars)); got != tt.want {
				t.Fatalf("Render = %q\nwant     %q", got, tt.want)
			}
		})
	}
}

// TestRenderGolden pins the whole file for the nasty map (go test -update
// rewrites testdata/render/*.golden).
func TestRenderGolden(t *testing.T) {
	nasty := nastyMap(1)
	delete(nasty, "BIG") // 100 KiB has no place in a golden file
	cases := map[string]map[string]string{
		"nasty.golden": nasty,
		"empty.golden": {},
		"reference.golden": {
			"APP_MODE": "production", "DEBUG": "1", "GREETING": "hello world",
			"QUOTE": "it's", "PRICE": "price is $5", "EMPTY": "",
		},
	}
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			got := Render(vars)
			path := filepath.Join("testdata", "render", name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Render differs from %s (go test -update rewrites it)", path)
			}
			if got[len(got)-1] != '\n' {
				t.Fatalf("%s does not end in LF", name)
			}
		})
	}
}

package env

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/testenv"
)

// A shell the oracle runs: argv before "-c SCRIPT NAME FILE".
type shell struct {
	name string
	argv []string
}

// shells returns dash, bash, bash --posix and busybox sh, each resolved
// through testenv.RequireTool (skip, or fail under SMOLVM_REQUIRE_SHELLS=1).
func shells(t *testing.T) []shell {
	t.Helper()
	dash := testenv.RequireTool(t, "dash")
	bash := testenv.RequireTool(t, "bash")
	busybox := testenv.RequireTool(t, "busybox")
	return []shell{
		{"dash", []string{dash}},
		{"bash", []string{bash}},
		{"bash --posix", []string{bash, "--posix"}},
		{"busybox sh", []string{busybox, "sh"}},
	}
}

var locales = []string{"C", "C.UTF-8"}

// run runs script with the shell, $1 = file, in a clean environment.
func (sh shell) run(t *testing.T, locale, script, file string) (stdout, stderr []byte, err error) {
	t.Helper()
	args := append(append([]string{}, sh.argv[1:]...), "-c", script, "oracle", file)
	cmd := exec.Command(sh.argv[0], args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=" + locale}
	cmd.Dir = filepath.Dir(file)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// sourceAndPrint sources file in the shell and returns each key's value as
// the shell sees it, printed with printf %s and NUL-separated so trailing
// newlines survive. It also reports whether EVIL got set. Only keys appear
// in the script; values travel in the file.
func sourceAndPrint(t *testing.T, sh shell, locale, file string, keys []string) (map[string]string, bool) {
	t.Helper()
	var script strings.Builder
	script.WriteString(`. "$1" || exit 99`)
	for _, k := range keys {
		fmt.Fprintf(&script, "\nprintf '%%s\\0' \"${%s-<unset>}\"", k)
	}
	script.WriteString("\nprintf '%s\\0' \"${EVIL+set}\"\n")
	out, errOut, err := sh.run(t, locale, script.String(), file)
	if err != nil || len(errOut) > 0 {
		t.Fatalf("%s: %v, stderr %q", sh.name, err, errOut)
	}
	fields := strings.Split(string(out), "\x00")
	if len(fields) != len(keys)+2 || fields[len(fields)-1] != "" {
		t.Fatalf("%s printed %d fields, want %d", sh.name, len(fields)-1, len(keys)+1)
	}
	got := map[string]string{}
	for i, k := range keys {
		got[k] = fields[i]
	}
	return got, fields[len(keys)] == "set"
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// oracleMaps are the variable sets every shell must read back exactly.
func oracleMaps() map[string]map[string]string {
	r := rand.New(rand.NewPCG(2026, 12))
	random := map[string]string{}
	for i := 0; i < 200; i++ {
		random[fmt.Sprintf("G%03d", i)] = randomValue(r, 40)
	}
	special := nastyMap(3)
	special["IFS"] = "/"
	special["PS4"] = "$(echo pwned)"
	return map[string]map[string]string{
		"nasty":   nastyMap(1),
		"random":  random,
		"special": special,
		"one":     {"APP_MODE": "production"},
		"empty":   {},
	}
}

// TestShellOracle renders files, sources each in every shell and locale,
// and requires the exact bytes of every value back, no EVIL, no output on
// sourcing, and a clean sh -n.
func TestShellOracle(t *testing.T) {
	shs := shells(t)
	for name, vars := range oracleMaps() {
		if err := Validate(vars); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		file := writeTemp(t, "smolvm_env.sh", Render(vars))
		keys := sortedKeys(vars)
		for _, sh := range shs {
			for _, loc := range locales {
				t.Run(name+"/"+sh.name+"/"+loc, func(t *testing.T) {
					syntax := append(append([]string{}, sh.argv...), "-n", file)
					if out, err := exec.Command(syntax[0], syntax[1:]...).CombinedOutput(); err != nil || len(out) > 0 {
						t.Fatalf("%s -n: %v %q", sh.name, err, out)
					}
					out, errOut, err := sh.run(t, loc, `. "$1"`, file)
					if err != nil || len(out)+len(errOut) > 0 {
						t.Fatalf("sourcing: %v, stdout %q, stderr %q; want silence", err, out, errOut)
					}
					got, evil := sourceAndPrint(t, sh, loc, file, keys)
					if evil {
						t.Fatal("sourcing set EVIL: a value escaped its quotes")
					}
					for _, k := range keys {
						if got[k] != vars[k] {
							t.Errorf("%s: shell read %q, want %q", k, got[k], vars[k])
						}
					}
				})
			}
		}
	}
}

// TestParseAgreesWithShells feeds hand-written files (other writers'
// styles) to Parse and to every shell: every variable Parse returns must
// be exactly what the shells see.
func TestParseAgreesWithShells(t *testing.T) {
	shs := shells(t)
	files := map[string]string{
		"apostrophe styles":    `export A='it'\''s'` + "\n" + `export B="it's"` + "\n" + `export C=it\'s` + "\n" + `export D='it'"'"'s'` + "\n",
		"double-quote escapes": `export A="a\$b\"c\\d\e\` + "`" + `f"` + "\n" + `export B="x\` + "\n" + `y"` + "\n",
		"continuations":        "export A=x\\\ny\nexport B='a'\\\n'b'\n",
		"comments":             "#!/bin/sh\n# it's a comment\nexport A=1 # trailing\nexport B='x' #c\nexport C=x#y\n\n  # indented\n",
		"duplicates":           "export A=1\nexport A='2'\nexport A=\"3\"\n",
		"quoted keys":          "export 'A'=1\nexport \"B=2\"\nexport C'=3'\n",
		"blanks":               "  \texport A=1\nexport \t B='  x  '\n",
		"multi-line":           "export A='x\nexport EVIL=1\n'\nexport B=\"y\nexport EVIL=2\n\"\n",
		"no final newline":     "export A=1\nexport B='end'",
		"skipped lines":        "export A=$HOME\nexport B=ok\nexport C='c'\nexport D=$(echo x)\n",
		"empty values":         "export A=\nexport B=''\nexport C=\"\"\n",
		"non-ASCII and CR":     "export A=héllo\nexport B=x\ry\nexport C='\u2028\u0085'\n",
	}
	for name, text := range files {
		vars, err := Parse([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if len(vars) == 0 {
			t.Fatalf("%s: Parse found nothing", name)
		}
		file := writeTemp(t, "hand.sh", []byte(text))
		keys := sortedKeys(vars)
		for _, sh := range shs {
			t.Run(name+"/"+sh.name, func(t *testing.T) {
				got, evil := sourceAndPrint(t, sh, "C.UTF-8", file, keys)
				if evil {
					t.Fatal("EVIL set")
				}
				for _, k := range keys {
					if got[k] != vars[k] {
						t.Errorf("%s: Parse read %q, %s read %q", k, vars[k], sh.name, got[k])
					}
				}
			})
		}
	}
}

package image

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/testenv"
)

func TestParseModinfo(t *testing.T) {
	cases := []struct {
		name string
		data string
		want modinfo
	}{
		{"deps and name", "license=GPL\x00depends=virtio,virtio_ring\x00name=virtio_pci\x00", modinfo{Name: "virtio_pci", Depends: []string{"virtio", "virtio_ring"}}},
		{"empty depends", "depends=\x00name=virtio\x00", modinfo{Name: "virtio"}},
		{"no depends", "name=x\x00", modinfo{Name: "x"}},
		{"dashes normalised", "depends=virtio-ring\x00name=virtio-rng\x00", modinfo{Name: "virtio_rng", Depends: []string{"virtio_ring"}}},
		{"padding and garbage skipped", "\x00\x00junk\x00name=a\x00\x00\x00", modinfo{Name: "a"}},
		{"value with equals", "parm=x:a=b\x00depends=b\x00", modinfo{Depends: []string{"b"}}},
		{"empty items dropped", "depends=a,,b,\x00", modinfo{Depends: []string{"a", "b"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseModinfo([]byte(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	t.Run("two depends refused", func(t *testing.T) {
		if _, err := parseModinfo([]byte("depends=a\x00depends=b\x00")); err == nil {
			t.Fatal("accepted two depends= entries")
		}
	})
}

func graph(g map[string][]string) func(string) ([]string, error) {
	return func(n string) ([]string, error) {
		d, ok := g[n]
		if !ok {
			return nil, ErrModuleMissing
		}
		return d, nil
	}
}

func TestOrderModules(t *testing.T) {
	cases := []struct {
		name  string
		roots []string
		g     map[string][]string
		want  string
		err   error
		msg   string // substring of the error
	}{
		{"single", []string{"a"}, map[string][]string{"a": nil}, "a", nil, ""},
		{"chain", []string{"a"}, map[string][]string{"a": {"b"}, "b": {"c"}, "c": nil}, "c b a", nil, ""},
		{"diamond once each", []string{"top"}, map[string][]string{"top": {"l", "r"}, "l": {"base"}, "r": {"base"}, "base": nil}, "base l r top", nil, ""},
		{"root that is also a dependency", []string{"a", "b"}, map[string][]string{"a": {"b"}, "b": nil}, "b a", nil, ""},
		{"roots order kept", []string{"x", "y"}, map[string][]string{"x": nil, "y": nil}, "x y", nil, ""},
		{"dash in root normalised", []string{"virtio-rng"}, map[string][]string{"virtio_rng": {"virtio"}, "virtio": nil}, "virtio virtio_rng", nil, ""},
		{"cycle", []string{"a"}, map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"a"}}, "", ErrModuleCycle, "a -> b -> c -> a"},
		{"self loop", []string{"a"}, map[string][]string{"a": {"a"}}, "", ErrModuleCycle, "a -> a"},
		{"missing dependency named", []string{"a"}, map[string][]string{"a": {"b"}, "b": {"ghost"}}, "", ErrModuleMissing, "ghost (needed by b)"},
		{"missing root", []string{"nope"}, map[string][]string{}, "", ErrModuleMissing, "nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := orderModules(c.roots, graph(c.g))
			if c.err != nil {
				if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("err = %v, want %v containing %q", err, c.err, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, " "); s != c.want {
				t.Fatalf("order %q, want %q", s, c.want)
			}
		})
	}
}

// TestDebianModules resolves the default module set from the real Debian
// kernel and checks it against the kernel's own modules.dep (an
// independent oracle: the builder reads .modinfo, depmod wrote modules.dep).
func TestDebianModules(t *testing.T) {
	_, _, md := debianKernel(t)
	mods, err := resolveModules(md, DefaultModules)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		pos[m.Rel] = i
	}
	// The package ships no modules.dep (depmod writes it at install), so
	// run depmod on a copy-free view: -b points it at the extracted tree.
	depmod := testenv.RequireTool(t, "depmod")
	base := filepath.Dir(filepath.Dir(filepath.Dir(md)))
	if out, err := exec.Command(depmod, "-b", base, filepath.Base(md)).CombinedOutput(); err != nil {
		t.Fatalf("depmod: %v\n%s", err, out)
	}
	dep, err := os.ReadFile(filepath.Join(md, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	closure := map[string]bool{}
	for _, line := range strings.Split(string(dep), "\n") {
		mod, deps, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if _, ours := pos[mod]; !ours {
			continue
		}
		closure[mod] = true
		for _, d := range strings.Fields(deps) {
			closure[d] = true
			if _, ok := pos[d]; !ok {
				t.Errorf("%s needs %s (modules.dep), missing from the initrd", mod, d)
			} else if pos[d] > pos[mod] {
				t.Errorf("%s loads before its dependency %s", mod, d)
			}
		}
	}
	if len(closure) != len(mods) {
		t.Errorf("initrd has %d modules, modules.dep accounts for %d", len(mods), len(closure))
	}
	names := map[string]bool{}
	for _, m := range mods {
		names[m.Name] = true
		if !strings.HasSuffix(m.Rel, ".ko") || len(m.Data) < 64 || string(m.Data[:4]) != "\x7fELF" {
			t.Errorf("%s: not an uncompressed ELF module", m.Rel)
		}
	}
	for _, want := range DefaultModules {
		if !names[want] {
			t.Errorf("default module %s not in the initrd", want)
		}
	}
	t.Logf("%d modules: %v", len(mods), mods[0].Rel)
}

func TestResolveModulesMissing(t *testing.T) {
	_, _, md := debianKernel(t)
	_, err := resolveModules(md, []string{"virtio_net", "no_such_driver"})
	if !errors.Is(err, ErrModuleMissing) || !strings.Contains(err.Error(), "no_such_driver") {
		t.Fatalf("err = %v, want ErrModuleMissing naming no_such_driver", err)
	}
}

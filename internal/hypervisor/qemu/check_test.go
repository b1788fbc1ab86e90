package qemu

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/testenv"
)

func TestParseVersion(t *testing.T) {
	cases := []struct {
		name, out, want string
		ok              bool
	}{
		{"qemu-system", "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright", "7.2.22", true},
		{"qemu-img", "qemu-img version 8.0.0\n", "8.0.0", true},
		{"two parts", "QEMU emulator version 9.1\n", "9.1", true},
		{"no version word", "QEMU emulator 7.2.22\n", "", false},
		{"version on second line only", "banner\nversion 7.2.22\n", "", false},
		{"not a number", "qemu-img version unknown\n", "", false},
		{"leading dot", "qemu-img version .1\n", "", false},
		{"empty", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseVersion(c.out)
			if got != c.want || ok != c.ok {
				t.Errorf("parseVersion = %q, %v; want %q, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// FuzzParseVersion checks the --version parser never panics and returns
// only dotted numbers.
func FuzzParseVersion(f *testing.F) {
	f.Add("QEMU emulator version 7.2.22 (Debian)\n")
	f.Add("qemu-img version 8.0.0\n")
	f.Add("version")
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseVersion(s)
		if ok && (v == "" || strings.Trim(v, "0123456789.") != "" || !strings.Contains(v, ".")) {
			t.Fatalf("parseVersion(%q) = %q", s, v)
		}
		if !ok && v != "" {
			t.Fatalf("not ok but %q", v)
		}
	})
}

func TestCheckHost(t *testing.T) {
	testenv.RequireTool(t, "qemu-system-x86_64")
	testenv.RequireTool(t, "qemu-img")
	b := New(Options{})
	if err := b.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	v, err := b.Versions(context.Background())
	if err != nil || v.QEMU == "" || v.QEMUImg == "" {
		t.Fatalf("versions %+v, %v", v, err)
	}
}

func TestCheckMissingPrograms(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		prog string
	}{
		{"no qemu-system", Options{QEMU: "smolvm-no-such-qemu"}, "smolvm-no-such-qemu"},
		{"qemu-system answers no version", Options{QEMU: "true"}, "true --version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := New(c.opts).Check(context.Background())
			if !errors.Is(err, hypervisor.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), c.prog) || !strings.Contains(err.Error(), "apt-get install qemu-system-x86 qemu-utils") {
				t.Errorf("error %q lacks %q or the install hint", err, c.prog)
			}
		})
	}
}

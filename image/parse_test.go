package image

import (
	"reflect"
	"strings"
	"testing"
)

const metaStanza = `Package: linux-image-cloud-amd64
Source: linux-signed-amd64 (6.1.192+3)
Version: 6.1.192-3
Architecture: amd64
Depends: linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)
Description: Linux for x86-64 cloud (meta-package)
 This package depends on the latest Linux kernel and modules for use on
 cloud platforms.

Package: linux-image-cloud-amd64
Version: 6.1.100-1
Depends: linux-image-6.1.0-20-cloud-amd64 (= 6.1.100-1)
`

func TestKernelDependency(t *testing.T) {
	cases := []struct {
		name   string
		stanza string
		want   debPackage
		err    bool
	}{
		{"metapackage", metaStanza, debPackage{"linux-image-6.1.0-57-cloud-amd64", "6.1.192-3", "amd64"}, false},
		{"alternatives and epoch", "Package: linux-image-x\nVersion: 1\nArchitecture: arm64\nDepends: foo | linux-image-6.12-arm64 (= 1:6.12.5-1), bar\n",
			debPackage{"linux-image-6.12-arm64", "1:6.12.5-1", "arm64"}, false},
		{"versioned package is itself", "Package: linux-image-6.1.0-57-cloud-amd64\nVersion: 6.1.192-3\nArchitecture: amd64\nDepends: kmod, linux-base (>= 4.3~)\n",
			debPackage{"linux-image-6.1.0-57-cloud-amd64", "6.1.192-3", "amd64"}, false},
		{"unversioned dependency refused", "Package: linux-image-cloud-amd64\nVersion: 1\nArchitecture: amd64\nDepends: linux-image-6.1.0-57-cloud-amd64\n", debPackage{}, true},
		{"not a kernel", "Package: hello\nVersion: 1\nArchitecture: amd64\nDepends: libc6\n", debPackage{}, true},
		{"empty output", "", debPackage{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := kernelDependency(parseControl([]byte(c.stanza)))
			if (err != nil) != c.err || got != c.want {
				t.Fatalf("got %+v, %v; want %+v, err=%v", got, err, c.want, c.err)
			}
		})
	}
}

func TestParseControl(t *testing.T) {
	f := parseControl([]byte(metaStanza))
	if f["Version"] != "6.1.192-3" {
		t.Errorf("first stanza only: Version %q", f["Version"])
	}
	if !strings.HasSuffix(f["Description"], "\ncloud platforms.") {
		t.Errorf("continuation lines not joined: %q", f["Description"])
	}
}

func TestDebFileName(t *testing.T) {
	p := debPackage{"busybox-static", "1:1.35.0-4+deb12u1+b1", "amd64"}
	if got, want := p.FileName(), "busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb"; got != want {
		t.Fatalf("FileName = %q, want %q", got, want)
	}
}

func TestParseBusyboxVersion(t *testing.T) {
	cases := []struct{ name, out, want string }{
		{"debian", "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\nBusyBox is copyrighted", "1.35.0 (Debian 1:1.35.0-4+deb12u1+b1)"},
		{"plain", "BusyBox v1.36.1 multi-call binary.", "1.36.1"},
		{"after other output", "usage\nBusyBox v1.2.3 (x) multi-call", "1.2.3 (x)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseBusyboxVersion([]byte(c.out))
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := parseBusyboxVersion([]byte("toybox 0.8")); err == nil {
		t.Fatal("accepted output without a BusyBox banner")
	}
}

func TestParseApplets(t *testing.T) {
	got, err := parseApplets([]byte("usr/bin/[\nbin/sh\nbin/busybox\nlinuxrc\n\nbin/sh\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"usr/bin/[", "bin/sh", "linuxrc"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"../etc/passwd\n", "bin/../../x\n", "\n", "/\n", "bin/a\x00b\n"} {
		if _, err := parseApplets([]byte(bad)); err == nil {
			t.Errorf("parseApplets(%q) accepted", bad)
		}
	}
}

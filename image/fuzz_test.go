package image

import (
	"strings"
	"testing"
)

func FuzzParseModinfo(f *testing.F) {
	f.Add([]byte("depends=virtio,virtio_ring\x00name=virtio_pci\x00"))
	f.Add([]byte("depends=\x00\x00\x00name=a-b\x00"))
	f.Add([]byte("depends=a\x00depends=b\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mi, err := parseModinfo(data)
		if err != nil {
			return
		}
		for _, d := range mi.Depends {
			if d == "" || strings.ContainsAny(d, ",-\x00") {
				t.Fatalf("bad dependency name %q", d)
			}
		}
		if strings.ContainsAny(mi.Name, "-\x00") {
			t.Fatalf("bad module name %q", mi.Name)
		}
	})
}

func FuzzKernelDependency(f *testing.F) {
	f.Add(metaStanza)
	f.Add("Package: linux-image-x\nVersion: 1\nArchitecture: arm64\nDepends: foo | linux-image-6.12-arm64 (= 1:6.12.5-1)\n")
	f.Add(" continuation first\nPackage:\n\n\nDepends: ,,|\n")
	f.Fuzz(func(t *testing.T, out string) {
		p, err := kernelDependency(parseControl([]byte(out)))
		if err != nil {
			return
		}
		if !strings.HasPrefix(p.Name, "linux-image-") || p.Version == "" || p.Arch == "" ||
			strings.ContainsAny(p.Name+p.Version, " /\n\x00") {
			t.Fatalf("implausible package %+v", p)
		}
	})
}

func FuzzParseApplets(f *testing.F) {
	f.Add([]byte("usr/bin/[\nbin/sh\nlinuxrc\n"))
	f.Add([]byte("../x\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		apps, err := parseApplets(out)
		if err != nil {
			return
		}
		for _, a := range apps {
			if a == "" || a == "." || strings.HasPrefix(a, "/") || strings.Contains(a, "\x00") ||
				a == ".." || strings.HasPrefix(a, "../") || strings.Contains(a, "/../") {
				t.Fatalf("unsafe applet path %q", a)
			}
		}
	})
}

func FuzzParseBusyboxVersion(f *testing.F) {
	f.Add([]byte("BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n"))
	f.Add([]byte("BusyBox v"))
	f.Fuzz(func(t *testing.T, out []byte) {
		v, err := parseBusyboxVersion(out)
		if err == nil && (v == "" || strings.Contains(v, "\n")) {
			t.Fatalf("bad version %q", v)
		}
	})
}

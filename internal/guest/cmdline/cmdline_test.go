package cmdline

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func kv(k, v string) Param { return Param{Key: k, Value: v, HasValue: true} }
func word(k string) Param  { return Param{Key: k} }

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Param
	}{
		{"empty", "", nil},
		{"only spaces", " \t\n", nil},
		{"bare words", "quiet ro", []Param{word("quiet"), word("ro")}},
		{"key value", "root=/dev/vda console=ttyS0", []Param{kv("root", "/dev/vda"), kv("console", "ttyS0")}},
		{"trailing newline of /proc/cmdline", "a=1\n", []Param{kv("a", "1")}},
		{"empty value", "a= b", []Param{kv("a", ""), word("b")}},
		{"first equals splits", "a=b=c", []Param{kv("a", "b=c")}},
		{"equals at start is part of key", "=x", []Param{word("=x")}},
		{"quoted value with space", `a="b c" d`, []Param{kv("a", "b c"), word("d")}},
		{"quoted whole param", `"a=b c" d`, []Param{kv("a", "b c"), word("d")}},
		{"quoted bare word", `"x y"`, []Param{word("x y")}},
		{"quote in middle kept", `a=b"c d"`, []Param{kv("a", `b"c d"`)}},
		{"unterminated quote runs to end", `a="b c`, []Param{kv("a", "b c")}},
		{"lone quote value", `a="`, []Param{kv("a", "")}},
		{"tabs and CR are spaces", "a=1\tb=2\rc", []Param{kv("a", "1"), kv("b", "2"), word("c")}},
		{"0xA0 is a space to the kernel", "a=1\xa0b", []Param{kv("a", "1"), word("b")}},
		{"double dash ends kernel params", "a=1 -- init args", []Param{kv("a", "1")}},
		{"double dash with value is a param", "--=1 b", []Param{kv("--", "1"), word("b")}},
		{"dotted module param", "virtio_mmio.device=4K@0xd0000000:5", []Param{kv("virtio_mmio.device", "4K@0xd0000000:5")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Split(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	ps := Split("a-b=1 x=2 a_b=3 y")
	tests := []struct {
		name, key, want string
		found           bool
	}{
		{"last wins and dash equals underscore", "a_b", "3", true},
		{"dash lookup", "a-b", "3", true},
		{"bare word found with empty value", "y", "", true},
		{"missing", "z", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Lookup(ps, tc.key)
			if got != tc.want || ok != tc.found {
				t.Fatalf("Lookup(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.found)
			}
		})
	}
}

func TestModuleParams(t *testing.T) {
	ps := Split(`virtio_mmio.device=4K@0xd0000000:5 virtio-mmio.device=4K@0xd0001000:6 virtio_blk.x="a b" virtio_blk.flag virtio_mmio. other.device=1`)
	tests := []struct{ name, module, want string }{
		{"two values in order, dash normalised", "virtio_mmio", "device=4K@0xd0000000:5 device=4K@0xd0001000:6"},
		{"module name with dash", "virtio-mmio", "device=4K@0xd0000000:5 device=4K@0xd0001000:6"},
		{"value with space is quoted, bare flag kept", "virtio_blk", `x="a b" flag`},
		{"no params", "vsock", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ModuleParams(ps, tc.module); got != tc.want {
				t.Fatalf("ModuleParams(%q) = %q, want %q", tc.module, got, tc.want)
			}
		})
	}
}

func TestParseIP(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *IPConfig
		errIs   error
		errText string
	}{
		{"off", "off", nil, nil, ""},
		{"none", "none", nil, nil, ""},
		{"dhcp refused", "dhcp", nil, ErrAutoconf, "ip \"dhcp\""},
		{"autoconf field dhcp refused", "10.0.0.2::10.0.0.1:24::eth0:dhcp", nil, ErrAutoconf, "ip autoconf"},
		{"full static", "10.0.2.15::10.0.2.2:255.255.255.0:vm1:eth0:off:1.1.1.1:8.8.8.8",
			&IPConfig{Addr: netip.MustParsePrefix("10.0.2.15/24"), Gateway: netip.MustParseAddr("10.0.2.2"),
				Hostname: "vm1", Device: "eth0", DNS: []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("8.8.8.8")}}, nil, ""},
		{"prefix length netmask", "172.16.0.2::172.16.0.1:30::eth1:off",
			&IPConfig{Addr: netip.MustParsePrefix("172.16.0.2/30"), Gateway: netip.MustParseAddr("172.16.0.1"), Device: "eth1"}, nil, ""},
		{"client only defaults to /24", "192.168.1.5",
			&IPConfig{Addr: netip.MustParsePrefix("192.168.1.5/24")}, nil, ""},
		{"bad client", "10.0.2::10.0.2.2", nil, nil, "ip client"},
		{"ipv6 client refused", "fe80::1", nil, nil, "ip client"},
		{"bad gateway", "10.0.2.15::x:24", nil, nil, "ip gw"},
		{"non contiguous mask", "10.0.2.15::10.0.2.2:255.0.255.0", nil, nil, "ip netmask"},
		{"mask out of range", "10.0.2.15::10.0.2.2:33", nil, nil, "ip netmask"},
		{"bad dns1", "10.0.2.15::10.0.2.2:24::eth0:off:1.1.1.1:nope", nil, nil, "ip dns1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIP(tc.in)
			if tc.errIs != nil && !errors.Is(err, tc.errIs) {
				t.Fatalf("err = %v, want errors.Is %v", err, tc.errIs)
			}
			if tc.errText != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want *FieldError containing %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseIP(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		check   func(t *testing.T, b Boot)
		errText string
	}{
		{"defaults", "console=ttyS0", func(t *testing.T, b Boot) {
			if b.Root != "/dev/vda" || b.RootFSType != "ext4" || b.Hostname != "smolvm" || b.VsockPort != 22 || b.ReadOnly {
				t.Fatalf("defaults wrong: %+v", b)
			}
			if !reflect.DeepEqual(b.IP, DefaultIP()) || !reflect.DeepEqual(b.DNS, []netip.Addr{DefaultDNS}) {
				t.Fatalf("network defaults wrong: %+v %v", b.IP, b.DNS)
			}
		}, ""},
		{"root and type and flags", "root=/dev/vdb rootfstype=ext2 rootflags=noatime ro", func(t *testing.T, b Boot) {
			if b.Root != "/dev/vdb" || b.RootFSType != "ext2" || b.RootFlags != "noatime" || !b.ReadOnly {
				t.Fatalf("%+v", b)
			}
		}, ""},
		{"rw after ro wins", "ro rw", func(t *testing.T, b Boot) {
			if b.ReadOnly {
				t.Fatal("ReadOnly after rw")
			}
		}, ""},
		{"ip off leaves network down and no dns", "ip=off", func(t *testing.T, b Boot) {
			if b.IP != nil || b.DNS != nil {
				t.Fatalf("%+v %v", b.IP, b.DNS)
			}
		}, ""},
		{"hostname from ip", "ip=10.0.0.2::10.0.0.1:24:fromip:eth0:off", func(t *testing.T, b Boot) {
			if b.Hostname != "fromip" {
				t.Fatal(b.Hostname)
			}
		}, ""},
		{"smolvm.hostname beats ip", "ip=10.0.0.2::10.0.0.1:24:fromip:eth0:off smolvm.hostname=box", func(t *testing.T, b Boot) {
			if b.Hostname != "box" {
				t.Fatal(b.Hostname)
			}
		}, ""},
		{"bad hostname keeps default", "smolvm.hostname=a/b", func(t *testing.T, b Boot) {
			if b.Hostname != "smolvm" {
				t.Fatal(b.Hostname)
			}
		}, "smolvm.hostname"},
		{"dns from ip then smolvm.dns wins", "ip=10.0.0.2::10.0.0.1:24::eth0:off:9.9.9.9 smolvm.dns=1.0.0.1", func(t *testing.T, b Boot) {
			if !reflect.DeepEqual(b.DNS, []netip.Addr{netip.MustParseAddr("1.0.0.1")}) {
				t.Fatal(b.DNS)
			}
		}, ""},
		{"dns from ip", "ip=10.0.0.2::10.0.0.1:24::eth0:off:9.9.9.9", func(t *testing.T, b Boot) {
			if !reflect.DeepEqual(b.DNS, []netip.Addr{netip.MustParseAddr("9.9.9.9")}) {
				t.Fatal(b.DNS)
			}
		}, ""},
		{"bad dns", "smolvm.dns=x", func(t *testing.T, b Boot) {}, "smolvm.dns"},
		{"authkey decoded", "smolvm.authkey=c3NoLWVkMjU1MTkgQUFBQSB4Cg==", func(t *testing.T, b Boot) {
			if string(b.AuthKeys) != "ssh-ed25519 AAAA x\n" {
				t.Fatalf("%q", b.AuthKeys)
			}
		}, ""},
		{"bad authkey", "smolvm.authkey=!!", func(t *testing.T, b Boot) {
			if b.AuthKeys != nil {
				t.Fatal("keys set")
			}
		}, "smolvm.authkey"},
		{"vsock disabled", "smolvm.vsock=0", func(t *testing.T, b Boot) {
			if b.VsockPort != 0 {
				t.Fatal(b.VsockPort)
			}
		}, ""},
		{"bad vsock keeps default", "smolvm.vsock=-1", func(t *testing.T, b Boot) {
			if b.VsockPort != 22 {
				t.Fatal(b.VsockPort)
			}
		}, "smolvm.vsock"},
		{"root wait", "smolvm.rootwait=2", func(t *testing.T, b Boot) {
			if b.RootWait != 2*time.Second {
				t.Fatal(b.RootWait)
			}
		}, ""},
		{"bad root wait keeps default", "smolvm.rootwait=0", func(t *testing.T, b Boot) {
			if b.RootWait != DefaultRootWait {
				t.Fatal(b.RootWait)
			}
		}, "smolvm.rootwait"},
		{"bad ip leaves network down", "ip=dhcp", func(t *testing.T, b Boot) {
			if b.IP != nil {
				t.Fatal(b.IP)
			}
		}, "ip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, errs := Parse(tc.in)
			tc.check(t, b)
			if tc.errText == "" && len(errs) > 0 {
				t.Fatalf("unexpected errors %v", errs)
			}
			if tc.errText != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.errText) {
					t.Fatalf("errors %v, want one naming %q", errs, tc.errText)
				}
			}
		})
	}
}

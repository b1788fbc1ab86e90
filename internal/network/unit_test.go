package network

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestKernelIPArg(t *testing.T) {
	cases := []struct {
		name, guest, host string
		bits              int
		want              string
	}{
		{"slash 30", "172.30.0.6", "172.30.0.5", 30, "ip=172.30.0.6::172.30.0.5:255.255.255.252::eth0:off"},
		{"slash 24", "10.0.0.2", "10.0.0.1", 24, "ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:off"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := KernelIPArg(netip.MustParseAddr(c.guest), netip.MustParseAddr(c.host), c.bits)
			if got != c.want {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestNames(t *testing.T) {
	a, b := TAPName("vm-a"), TAPName("vm-b")
	if len(a) != 15 || a[:3] != TAPPrefix || a == b || TAPName("vm-a") != a {
		t.Fatalf("TAPName: %q %q", a, b)
	}
	if got := GuestMAC(netip.MustParseAddr("172.30.0.6")); got != "06:00:ac:1e:00:06" {
		t.Fatalf("GuestMAC %q", got)
	}
	if id, ok := vmOfTag(tag("x-1")); !ok || id != "x-1" {
		t.Fatal("tag round trip")
	}
}

func TestValidate(t *testing.T) {
	ok := VM{ID: "a", Host: netip.MustParseAddr("172.30.0.5"), Guest: netip.MustParseAddr("172.30.0.6"), PrefixLen: 30}
	cases := []struct {
		name  string
		mut   func(v *VM)
		field string
	}{
		{"ok", func(*VM) {}, ""},
		{"no id", func(v *VM) { v.ID = "" }, "ID"},
		{"ipv6 host", func(v *VM) { v.Host = netip.MustParseAddr("::1") }, "Host"},
		{"no guest", func(v *VM) { v.Guest = netip.Addr{} }, "Guest"},
		{"prefix too long", func(v *VM) { v.PrefixLen = 31 }, "PrefixLen"},
		{"guest outside subnet", func(v *VM) { v.Guest = netip.MustParseAddr("172.30.0.9") }, "Guest"},
		{"guest equals host", func(v *VM) { v.Guest = v.Host }, "Guest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := ok
			c.mut(&v)
			err := v.validate()
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field+":") {
				t.Fatalf("got %v, want field %s", err, c.field)
			}
		})
	}
}

package cmdline

import (
	"strings"
	"testing"
)

func FuzzSplit(f *testing.F) {
	f.Add("root=/dev/vda console=ttyS0 quiet")
	f.Add(`a="b c" "d=e f" -- g`)
	f.Fuzz(func(t *testing.T, s string) {
		ps := Split(s)
		if len(ps) > len(s) {
			t.Fatalf("%d params from %d bytes", len(ps), len(s))
		}
		// Params without quotes or spaces survive a render and re-split.
		var plain []Param
		var b strings.Builder
		for _, p := range ps {
			if strings.IndexFunc(p.Key+p.Value, func(r rune) bool { return r == '"' || r == '=' }) >= 0 ||
				hasSpaceByte(p.Key+p.Value) || p.Key == "" || p.Key == "--" {
				continue
			}
			plain = append(plain, p)
			b.WriteString(p.Key)
			if p.HasValue {
				b.WriteString("=" + p.Value)
			}
			b.WriteByte(' ')
		}
		again := Split(b.String())
		if len(again) != len(plain) {
			t.Fatalf("re-split %q: %d params, want %d", b.String(), len(again), len(plain))
		}
		for i := range plain {
			if again[i] != plain[i] {
				t.Fatalf("re-split param %d = %#v, want %#v", i, again[i], plain[i])
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("ip=10.0.2.15::10.0.2.2:255.255.255.0:h:eth0:off smolvm.authkey=eA== smolvm.vsock=5")
	f.Add("ip=off smolvm.dns=1.1.1.1 ro")
	f.Fuzz(func(t *testing.T, s string) {
		b, errs := Parse(s)
		if b.Root == "" || b.RootFSType == "" || !validHostname(b.Hostname) {
			t.Fatalf("Parse(%q) gave unusable Boot %+v", s, b)
		}
		if b.IP != nil && !b.IP.Addr.Addr().Is4() {
			t.Fatalf("non-IPv4 address %v", b.IP.Addr)
		}
		for _, err := range errs {
			if err == nil || err.Error() == "" {
				t.Fatal("empty error")
			}
		}
	})
}

func FuzzParseIP(f *testing.F) {
	f.Add("10.0.2.15::10.0.2.2:255.255.255.0::eth0:off")
	f.Add("1.2.3.4:5.6.7.8:9.9.9.9:16:h:d:static:1.1.1.1:2.2.2.2:3.3.3.3")
	f.Add("dhcp")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseIP(s)
		if err != nil || c == nil {
			return
		}
		if c.Addr.Bits() < 0 || c.Addr.Bits() > 32 || !c.Addr.Addr().Is4() {
			t.Fatalf("bad prefix %v", c.Addr)
		}
		if c.Gateway.IsValid() && !c.Gateway.Is4() {
			t.Fatalf("bad gateway %v", c.Gateway)
		}
	})
}

func hasSpaceByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return true
		}
	}
	return false
}

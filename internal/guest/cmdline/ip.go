package cmdline

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrAutoconf is returned for ip= settings that ask for DHCP/BOOTP/RARP:
// the agent only does static configuration.
var ErrAutoconf = errors.New("autoconfiguration not supported")

// FieldError is a malformed command line value; it names the parameter
// and, where there is one, the ip= field.
type FieldError struct {
	Param string // e.g. "ip"
	Field string // e.g. "netmask"; "" when the whole value is wrong
	Value string
	Err   error
}

func (e *FieldError) Error() string {
	name := e.Param
	if e.Field != "" {
		name += " " + e.Field
	}
	return fmt.Sprintf("cmdline %s %q: %v", name, e.Value, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// IPConfig is a static IPv4 configuration from ip= (kernel nfsroot format:
// <client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>:<ntp0>).
type IPConfig struct {
	Addr     netip.Prefix // client address with prefix length
	Gateway  netip.Addr   // zero when none
	Hostname string       // "" when not given
	Device   string       // "" means the first non-loopback interface
	DNS      []netip.Addr
}

// DefaultIP is the configuration used when ip= is absent: QEMU user-mode
// networking (slirp).
func DefaultIP() *IPConfig {
	return &IPConfig{
		Addr:    netip.MustParsePrefix("10.0.2.15/24"),
		Gateway: netip.MustParseAddr("10.0.2.2"),
		Device:  "eth0",
	}
}

// ParseIP parses the value of ip=. It returns nil, nil for "off" and
// "none" (network left down), an error matching ErrAutoconf for the DHCP
// family, and a *FieldError naming the field for anything malformed.
func ParseIP(v string) (*IPConfig, error) {
	switch v {
	case "off", "none":
		return nil, nil
	case "on", "any", "dhcp", "bootp", "rarp", "both", "dhcp6":
		return nil, &FieldError{Param: "ip", Value: v, Err: ErrAutoconf}
	}
	f := strings.Split(v, ":")
	field := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	bad := func(name, val string, err error) (*IPConfig, error) {
		return nil, &FieldError{Param: "ip", Field: name, Value: val, Err: err}
	}
	switch field(6) {
	case "", "off", "none", "static":
	default:
		return bad("autoconf", field(6), ErrAutoconf)
	}
	client, err := netip.ParseAddr(field(0))
	if err != nil || !client.Is4() {
		return bad("client", field(0), errors.New("not an IPv4 address"))
	}
	bits := 24
	if m := field(3); m != "" {
		if bits, err = parseMask(m); err != nil {
			return bad("netmask", m, err)
		}
	}
	c := &IPConfig{Addr: netip.PrefixFrom(client, bits), Hostname: field(4), Device: field(5)}
	if g := field(2); g != "" {
		if c.Gateway, err = netip.ParseAddr(g); err != nil || !c.Gateway.Is4() {
			return bad("gw", g, errors.New("not an IPv4 address"))
		}
	}
	for i, name := range []string{"dns0", "dns1"} {
		d := field(7 + i)
		if d == "" {
			continue
		}
		a, err := netip.ParseAddr(d)
		if err != nil || !a.Is4() {
			return bad(name, d, errors.New("not an IPv4 address"))
		}
		c.DNS = append(c.DNS, a)
	}
	return c, nil
}

// parseMask accepts a dotted netmask with contiguous ones or a prefix
// length 0..32.
func parseMask(m string) (int, error) {
	if n, err := strconv.Atoi(m); err == nil {
		if n < 0 || n > 32 {
			return 0, errors.New("prefix length out of range")
		}
		return n, nil
	}
	a, err := netip.ParseAddr(m)
	if err != nil || !a.Is4() {
		return 0, errors.New("not a netmask")
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	if v != 0 {
		return 0, errors.New("netmask ones not contiguous")
	}
	return ones, nil
}

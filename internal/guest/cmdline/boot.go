package cmdline

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strconv"
	"time"
)

// Boot is what the guest agent needs from the command line, with the
// contract's defaults filled in.
type Boot struct {
	Params     []Param
	Root       string    // root=, default /dev/vda
	RootFSType string    // rootfstype=, default ext4
	RootFlags  string    // rootflags=, passed as mount data
	ReadOnly   bool      // "ro" given (and no later "rw")
	IP         *IPConfig // nil: leave the network down (ip=off/none, or a bad ip=)
	DNS        []netip.Addr
	Hostname   string
	AuthKeys   []byte // decoded smolvm.authkey: authorized_keys lines
	VsockPort  uint32 // 0 disables
	RootWait   time.Duration
}

// Defaults of the contract in docs/guest.md.
const (
	DefaultRoot       = "/dev/vda"
	DefaultRootFSType = "ext4"
	DefaultHostname   = "smolvm"
	DefaultVsockPort  = 22
	DefaultRootWait   = 30 * time.Second
)

// DefaultDNS is the nameserver of QEMU user-mode networking.
var DefaultDNS = netip.MustParseAddr("10.0.2.3")

// Parse interprets a command line. It always returns a usable Boot: a
// malformed value is reported in the returned errors (each a *FieldError)
// and its default is used instead, except for a bad ip=, which leaves the
// network down rather than guessing an address.
func Parse(s string) (Boot, []error) {
	ps := Split(s)
	b := Boot{
		Params: ps, Root: DefaultRoot, RootFSType: DefaultRootFSType,
		Hostname: DefaultHostname, VsockPort: DefaultVsockPort, IP: DefaultIP(), RootWait: DefaultRootWait,
	}
	var errs []error
	for _, p := range ps {
		if p.HasValue {
			continue
		}
		switch p.Key {
		case "ro":
			b.ReadOnly = true
		case "rw":
			b.ReadOnly = false
		}
	}
	if v, ok := Lookup(ps, "root"); ok && v != "" {
		b.Root = v
	}
	if v, ok := Lookup(ps, "rootfstype"); ok && v != "" {
		b.RootFSType = v
	}
	b.RootFlags, _ = Lookup(ps, "rootflags")
	if v, ok := Lookup(ps, "ip"); ok {
		ip, err := ParseIP(v)
		if err != nil {
			errs = append(errs, err)
		}
		b.IP = ip
	}
	if b.IP != nil && b.IP.Hostname != "" {
		if validHostname(b.IP.Hostname) {
			b.Hostname = b.IP.Hostname
		} else {
			errs = append(errs, &FieldError{Param: "ip", Field: "hostname", Value: b.IP.Hostname, Err: errors.New("not a hostname")})
		}
	}
	if v, ok := Lookup(ps, "smolvm.hostname"); ok {
		if validHostname(v) {
			b.Hostname = v
		} else {
			errs = append(errs, &FieldError{Param: "smolvm.hostname", Value: v, Err: errors.New("not a hostname")})
		}
	}
	if b.IP != nil {
		b.DNS = b.IP.DNS
	}
	if v, ok := Lookup(ps, "smolvm.dns"); ok {
		a, err := netip.ParseAddr(v)
		if err != nil {
			errs = append(errs, &FieldError{Param: "smolvm.dns", Value: v, Err: errors.New("not an IP address")})
		} else {
			b.DNS = []netip.Addr{a}
		}
	}
	if len(b.DNS) == 0 && b.IP != nil {
		b.DNS = []netip.Addr{DefaultDNS}
	}
	if v, ok := Lookup(ps, "smolvm.authkey"); ok {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			// The value is a public key, not a secret, but keep it out of
			// the message anyway: it can be long.
			errs = append(errs, &FieldError{Param: "smolvm.authkey", Value: "(base64)", Err: err})
		} else {
			b.AuthKeys = k
		}
	}
	if v, ok := Lookup(ps, "smolvm.vsock"); ok {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			errs = append(errs, &FieldError{Param: "smolvm.vsock", Value: v, Err: errors.New("not a port number")})
		} else {
			b.VsockPort = uint32(n)
		}
	}
	if v, ok := Lookup(ps, "smolvm.rootwait"); ok {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			errs = append(errs, &FieldError{Param: "smolvm.rootwait", Value: v, Err: errors.New("not a number of seconds (1..65535)")})
		} else {
			b.RootWait = time.Duration(n) * time.Second
		}
	}
	return b, errs
}

// validHostname accepts 1..64 bytes of letters, digits, '-' and '.', the
// kernel's limit for sethostname.
func validHostname(h string) bool {
	if h == "" || len(h) > 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

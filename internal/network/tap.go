package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
)

// addLink creates the VM's persistent TAP device, puts the host address
// on it, brings it up and enables IPv4 forwarding. An existing device of
// the same name is reused (Setup is idempotent).
func (m *Manager) addLink(v VM) (netlink.Link, error) {
	name := TAPName(v.ID)
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("look up %s: %w", name, err)
		}
		t := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: name}, Mode: netlink.TUNTAP_MODE_TAP,
			Flags: netlink.TUNTAP_NO_PI | netlink.TUNTAP_VNET_HDR}
		if v.Owner > 0 { // netlink sets the owner only when non-zero
			t.Owner = uint32(v.Owner) //nolint:gosec // uid range checked
		}
		if err := netlink.LinkAdd(t); err != nil {
			return nil, fmt.Errorf("create tap %s: %w", name, err)
		}
		if link, err = netlink.LinkByName(name); err != nil {
			return nil, fmt.Errorf("look up %s: %w", name, err)
		}
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(v.Host.AsSlice()), Mask: net.CIDRMask(v.PrefixLen, 32)}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return nil, fmt.Errorf("address %s on %s: %w", addr, name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("up %s: %w", name, err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil { //nolint:gosec // procfs
		return nil, fmt.Errorf("enable ip_forward: %w", err)
	}
	return link, nil
}

// delLink removes a TAP device; a missing one is not an error.
func delLink(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// ourTAPs lists the TAP devices named with TAPPrefix.
func ourTAPs() ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range links {
		if _, ok := l.(*netlink.Tuntap); ok && strings.HasPrefix(l.Attrs().Name, TAPPrefix) {
			out = append(out, l.Attrs().Name)
		}
	}
	return out, nil
}

// Package netconf configures IPv4 networking over rtnetlink with raw
// x/sys/unix calls: bring links up, add an address, add a default route.
// It is what the guest agent needs from `ip`, in a few hundred bytes of
// code instead of a netlink library.
package netconf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

var seq atomic.Uint32

// request sends one rtnetlink request and waits for its ACK. An error
// from the kernel comes back as a unix.Errno (e.g. EEXIST).
func request(typ uint16, flags uint16, body []byte) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer func() { _ = unix.Close(fd) }()
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("bind", err)
	}
	s := seq.Add(1)
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(msg[0:4], uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(msg[4:6], typ)
	binary.NativeEndian.PutUint16(msg[6:8], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:12], s)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("sendto", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return os.NewSyscallError("recvfrom", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("netlink: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != s || m.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(m.Data) < 4 {
				return errors.New("netlink: short error message")
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
}

// attr encodes one rtattr.
func attr(typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b := make([]byte, (l+unix.RTA_ALIGNTO-1) & ^(unix.RTA_ALIGNTO-1))
	binary.NativeEndian.PutUint16(b[0:2], uint16(l))
	binary.NativeEndian.PutUint16(b[2:4], typ)
	copy(b[4:], data)
	return b
}

func structBytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// LinkUp sets IFF_UP on the interface with index idx.
func LinkUp(idx int) error {
	m := unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: int32(idx), Flags: unix.IFF_UP, Change: unix.IFF_UP}
	if err := request(unix.RTM_NEWLINK, 0, structBytes(&m)); err != nil {
		return fmt.Errorf("link %d up: %w", idx, err)
	}
	return nil
}

// AddAddr adds the IPv4 address p (with its prefix length and the
// broadcast address) to interface idx. An existing identical address is
// not an error.
func AddAddr(idx int, p netip.Prefix) error {
	if !p.Addr().Is4() {
		return fmt.Errorf("address %v: not IPv4", p)
	}
	m := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: uint8(p.Bits()), Index: uint32(idx)}
	a := p.Addr().As4()
	body := append(structBytes(&m), attr(unix.IFA_LOCAL, a[:])...)
	body = append(body, attr(unix.IFA_ADDRESS, a[:])...)
	if p.Bits() < 31 {
		brd := broadcast(p)
		body = append(body, attr(unix.IFA_BROADCAST, brd[:])...)
	}
	err := request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add address %v to link %d: %w", p, idx, err)
	}
	return nil
}

func broadcast(p netip.Prefix) [4]byte {
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return b
}

// AddDefaultRoute adds 0.0.0.0/0 via gw out of interface idx in the main
// table. An existing default route is not replaced and not an error.
func AddDefaultRoute(idx int, gw netip.Addr) error {
	if !gw.Is4() {
		return fmt.Errorf("gateway %v: not IPv4", gw)
	}
	m := unix.RtMsg{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_BOOT,
		Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST}
	g := gw.As4()
	oif := make([]byte, 4)
	binary.NativeEndian.PutUint32(oif, uint32(idx))
	body := append(structBytes(&m), attr(unix.RTA_GATEWAY, g[:])...)
	body = append(body, attr(unix.RTA_OIF, oif)...)
	err := request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("default route via %v: %w", gw, err)
	}
	return nil
}

// FirstEthernet returns the first interface (lowest index) that is not a
// loopback, or "" when there is none.
func FirstEthernet() (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return i.Name, nil
		}
	}
	return "", nil
}

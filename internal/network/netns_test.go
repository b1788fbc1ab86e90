package network

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Tests that change links and nftables run in a throw-away network
// namespace: the parent re-executes the test binary under `unshare -n`
// for one test, and that child (SMOLVM_NETNS_CHILD set) runs the body.
const netnsEnv = "SMOLVM_NETNS_CHILD"

// inNetns runs the calling test in a fresh network namespace. It returns
// true in the child (run the body) and false in the parent (done).
func inNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) != "" {
		if err := netlink.LinkSetUp(mustLink(t, "lo")); err != nil {
			t.Fatal(err)
		}
		c, err := nftables.New()
		if err == nil {
			_, err = c.ListTables()
		}
		if err != nil {
			t.Skipf("the kernel has no usable nf_tables: %v", err)
		}
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, TAP devices, nftables)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) not found")
	}
	cmd := exec.Command(unshare, "-n", os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a new network namespace:\n%s", out)
	switch {
	case bytes.Contains(out, []byte("--- SKIP")):
		t.Skip("skipped in the namespace (see log)")
	case err != nil:
		t.Fatalf("namespace run failed: %v", err)
	case !bytes.Contains(out, []byte("--- PASS: "+t.Name())):
		t.Fatal("namespace run did not pass")
	}
	return false
}

func mustLink(t *testing.T, name string) netlink.Link {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// snapshot describes the namespace: links with flags and addresses, and
// the whole nftables ruleset (through the library, plus `nft list ruleset`
// when nft is installed).
func snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Attrs().Name < links[j].Attrs().Name })
	for _, l := range links {
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_ALL)
		var as []string
		for _, a := range addrs {
			as = append(as, a.IPNet.String())
		}
		sort.Strings(as)
		fmt.Fprintf(&b, "link %s %s %v\n", l.Attrs().Name, l.Type(), as)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	chains, _ := c.ListChains()
	for _, tb := range tables {
		fmt.Fprintf(&b, "table %d %s\n", tb.Family, tb.Name)
		for _, ch := range chains {
			if ch.Table.Name == tb.Name && ch.Table.Family == tb.Family {
				rules, _ := c.GetRules(tb, ch)
				fmt.Fprintf(&b, "  chain %s: %d rules\n", ch.Name, len(rules))
			}
		}
	}
	if nft, err := exec.LookPath("nft"); err == nil {
		out, err := exec.Command(nft, "list", "ruleset").CombinedOutput()
		if err != nil {
			t.Fatalf("nft list ruleset: %v: %s", err, out)
		}
		b.WriteString("nft:\n")
		b.Write(out)
	}
	return b.String()
}

func vmA() VM {
	return VM{ID: "vm-a", Host: netip.MustParseAddr("172.30.0.1"), Guest: netip.MustParseAddr("172.30.0.2"), PrefixLen: 30, Owner: -1}
}

func vmB() VM {
	return VM{ID: "vm-b", Host: netip.MustParseAddr("172.30.0.5"), Guest: netip.MustParseAddr("172.30.0.6"), PrefixLen: 30, Owner: -1}
}

func TestSetupDeleteInNetns(t *testing.T) {
	if !inNetns(t) {
		return
	}
	ctx := context.Background()
	before := snapshot(t)
	m := New(Options{})
	for _, v := range []VM{vmA(), vmB()} {
		name, err := m.Setup(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		l := mustLink(t, name)
		if _, ok := l.(*netlink.Tuntap); !ok || l.Attrs().Flags&net.FlagUp == 0 {
			t.Fatalf("%s: %T flags %v", name, l, l.Attrs().Flags)
		}
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		if len(addrs) != 1 || addrs[0].IPNet.String() != fmt.Sprintf("%s/%d", v.Host, v.PrefixLen) {
			t.Fatalf("%s addresses %v", name, addrs)
		}
	}
	// Setup is idempotent: no duplicate rules.
	if _, err := m.Setup(ctx, vmA()); err != nil {
		t.Fatal(err)
	}
	c, _ := nftables.New()
	byVM, _, err := m.taggedRules(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(byVM["vm-a"]) != 5 || len(byVM["vm-b"]) != 5 || len(byVM) != 2 {
		t.Fatalf("rules per vm: a=%d b=%d (%d groups)", len(byVM["vm-a"]), len(byVM["vm-b"]), len(byVM))
	}
	if nft, err := exec.LookPath("nft"); err == nil {
		out, _ := exec.Command(nft, "list", "table", "inet", "smolvm").CombinedOutput()
		for _, want := range []string{`comment "smolvm-vm:vm-a"`, "masquerade", `oifname "smv*"`, "drop"} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("nft list table lacks %q:\n%s", want, out)
			}
		}
	}
	// Deleting A leaves B's rules and device untouched.
	if err := m.Delete(ctx, "vm-a"); err != nil {
		t.Fatal(err)
	}
	byVM, _, _ = m.taggedRules(c)
	if len(byVM["vm-a"]) != 0 || len(byVM["vm-b"]) != 5 {
		t.Fatalf("after deleting a: %d %d", len(byVM["vm-a"]), len(byVM["vm-b"]))
	}
	if _, err := netlink.LinkByName(TAPName("vm-a")); err == nil {
		t.Fatal("tap of vm-a still there")
	}
	mustLink(t, TAPName("vm-b"))
	if err := m.Delete(ctx, "vm-b"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "vm-b"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if after := snapshot(t); after != before {
		t.Fatalf("namespace changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestReconcileInNetns(t *testing.T) {
	if !inNetns(t) {
		return
	}
	ctx := context.Background()
	before := snapshot(t)
	m := New(Options{})
	for _, v := range []VM{vmA(), vmB()} {
		if _, err := m.Setup(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	// A stray TAP with smolvm's prefix and no rules (a crash between steps).
	stray := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: TAPPrefix + "deadbeef"}, Mode: netlink.TUNTAP_MODE_TAP}
	if err := netlink.LinkAdd(stray); err != nil {
		t.Fatal(err)
	}
	removed, err := m.Reconcile(ctx, []string{"vm-b"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != TAPPrefix+"deadbeef,vm-a" {
		t.Fatalf("removed %v", removed)
	}
	c, _ := nftables.New()
	byVM, _, _ := m.taggedRules(c)
	if len(byVM["vm-a"]) != 0 || len(byVM["vm-b"]) != 5 {
		t.Fatalf("after reconcile: %v", byVM)
	}
	mustLink(t, TAPName("vm-b"))
	if _, err := m.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t); after != before {
		t.Fatalf("namespace changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestVMToVMDroppedInNetns sends a real IPv4/UDP packet from guest A's
// address into A's TAP, addressed to guest B, and reads B's TAP: without
// smolvm's rules it is forwarded (proving the path works), with them it is
// dropped, and the drop rule's counter says so.
func TestVMToVMDroppedInNetns(t *testing.T) {
	if !inNetns(t) {
		return
	}
	m := New(Options{})
	a, b := vmA(), vmB()
	for _, v := range []VM{a, b} {
		if _, err := m.addLink(v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"all", "default", TAPName(a.ID), TAPName(b.ID)} {
		_ = os.WriteFile("/proc/sys/net/ipv4/conf/"+f+"/rp_filter", []byte("0"), 0o644) //nolint:gosec
	}
	fa, fb := openTap(t, TAPName(a.ID)), openTap(t, TAPName(b.ID))
	// Guest B answers no ARP: give the host a static neighbour for it.
	guestBMAC, _ := net.ParseMAC("06:00:ac:1e:00:06")
	if err := netlink.NeighAdd(&netlink.Neigh{LinkIndex: mustLink(t, TAPName(b.ID)).Attrs().Index, Family: netlink.FAMILY_V4,
		State: netlink.NUD_PERMANENT, IP: net.IP(b.Guest.AsSlice()), HardwareAddr: guestBMAC}); err != nil {
		t.Fatal(err)
	}
	tapAMAC := mustLink(t, TAPName(a.ID)).Attrs().HardwareAddr
	send := func(payload string) {
		frame := udpFrame(tapAMAC, a.Guest, b.Guest, []byte(payload))
		if _, err := unix.Write(fa, frame); err != nil {
			t.Fatal(err)
		}
	}
	send("control")
	if !receive(t, fb, "control", 5*time.Second) {
		t.Fatal("control packet was not forwarded between the TAPs: the test cannot prove a drop")
	}
	for _, v := range []VM{a, b} {
		if err := m.addRules(v); err != nil {
			t.Fatal(err)
		}
	}
	send("probe")
	if receive(t, fb, "probe", time.Second) {
		t.Fatal("VM-to-VM packet was forwarded despite the drop rule")
	}
	if n := dropCount(t, m, a.ID); n < 1 {
		t.Fatalf("drop rule counter %d, want >= 1", n)
	}
	_ = unix.Close(fa)
	_ = unix.Close(fb)
	for _, v := range []VM{a, b} {
		if err := m.Delete(context.Background(), v.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// openTap attaches to an existing TAP device (IFF_TAP|IFF_NO_PI) so the
// link has carrier and frames can be written and read.
func openTap(t *testing.T, name string) int {
	t.Helper()
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = unix.IFF_TAP | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); e != 0 { //nolint:gosec
		t.Fatalf("TUNSETIFF %s: %v", name, e)
	}
	return fd
}

// receive reads frames from fd until one carries want or the wait ends.
func receive(t *testing.T, fd int, want string, wait time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}} //nolint:gosec
		n, err := unix.Poll(pfd, int(time.Until(deadline).Milliseconds())+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		}
		if n == 0 {
			continue
		}
		r, err := unix.Read(fd, buf)
		if err != nil {
			continue
		}
		if bytes.Contains(buf[:r], []byte(want)) {
			return true
		}
	}
	return false
}

// udpFrame builds an Ethernet/IPv4/UDP frame to dstMAC.
func udpFrame(dstMAC net.HardwareAddr, src, dst netip.Addr, payload []byte) []byte {
	srcMAC := []byte{0x06, 0, 0xac, 0x1e, 0, 0x02}
	f := append(append(append([]byte{}, dstMAC...), srcMAC...), 0x08, 0x00)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload))) //nolint:gosec
	s4, d4 := src.As4(), dst.As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum)) //nolint:gosec
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 9)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload))) //nolint:gosec
	return append(append(append(f, ip...), udp...), payload...)
}

// dropCount reads the packet counter of the VM's VM-to-VM drop rule (the
// first forward rule tagged with its id).
func dropCount(t *testing.T, m *Manager, vmID string) uint64 {
	t.Helper()
	c, _ := nftables.New()
	byVM, _, err := m.taggedRules(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range byVM[vmID] {
		if r.Chain.Name != ChainForward {
			continue
		}
		for _, e := range r.Exprs {
			if ctr, ok := e.(*expr.Counter); ok {
				return ctr.Packets
			}
		}
	}
	t.Fatal("no counter found")
	return 0
}

package netconf

import (
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/testenv"
)

// inNetns runs f on a thread moved into a fresh network namespace, so the
// host's network is never touched. Children f starts inherit it.
func inNetns(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The thread is left locked so it dies with the goroutine instead
		// of going back to the scheduler inside the namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Errorf("unshare(CLONE_NEWNET): %v", err)
			return
		}
		f()
	}()
	<-done
}

func TestConfigureInNetns(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	ipBin := testenv.RequireTool(t, "ip")
	inNetns(t, func() {
		run := func(args ...string) string {
			out, err := exec.Command(ipBin, args...).CombinedOutput()
			if err != nil {
				t.Errorf("ip %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		if err := LinkUp(1); err != nil { // lo
			t.Error(err)
			return
		}
		// A tap device (no fd attached) stands in for eth0.
		run("tuntap", "add", "eth0", "mode", "tap")
		name, err := FirstEthernet()
		if err != nil || name != "eth0" {
			t.Errorf("FirstEthernet = %q, %v", name, err)
			return
		}
		idx := ifindex(t, "eth0")
		p := netip.MustParsePrefix("10.0.2.15/24")
		for range 2 { // idempotent
			if err := LinkUp(idx); err != nil {
				t.Error(err)
			}
			if err := AddAddr(idx, p); err != nil {
				t.Error(err)
			}
			if err := AddDefaultRoute(idx, netip.MustParseAddr("10.0.2.2")); err != nil {
				t.Error(err)
			}
		}
		if out := run("-4", "addr", "show", "dev", "eth0"); !strings.Contains(out, "inet 10.0.2.15/24 brd 10.0.2.255") || !strings.Contains(out, "UP") {
			t.Errorf("address not configured:\n%s", out)
		}
		if out := run("link", "show", "lo"); !strings.Contains(out, "UP") {
			t.Errorf("lo not up:\n%s", out)
		}
		if out := run("-4", "route", "show", "default"); !strings.Contains(out, "default via 10.0.2.2 dev eth0") {
			t.Errorf("default route missing:\n%s", out)
		}
		if err := AddAddr(idx, netip.MustParsePrefix("fe80::1/64")); err == nil {
			t.Error("IPv6 address accepted")
		}
		if err := LinkUp(9999); err == nil {
			t.Error("LinkUp on a missing index succeeded")
		}
	})
}

func ifindex(t *testing.T, name string) int {
	t.Helper()
	i, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatalf("ifindex %s: %v", name, err)
	}
	return i.Index
}

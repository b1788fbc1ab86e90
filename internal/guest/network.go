package guest

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/guest/cmdline"
	"github.com/smolvm/smolvm/internal/guest/netconf"
)

// linkWaitLimit bounds the wait for the network device to register.
const linkWaitLimit = 10 * time.Second

// setupNetwork brings lo up and, unless ip= turned it off, configures the
// interface, the default route and /etc/resolv.conf. It returns whether
// an interface was configured.
func setupNetwork(log *slog.Logger, b cmdline.Boot) (bool, error) {
	if err := netconf.LinkUp(1); err != nil { // lo is always index 1
		log.Warn("loopback", "err", err)
	}
	c := b.IP
	if c == nil {
		log.Info("network left down (ip=off, none or invalid)")
		return false, nil
	}
	dev, err := waitForLink(c.Device, linkWaitLimit)
	if err != nil {
		return false, err
	}
	if err := netconf.LinkUp(dev.Index); err != nil {
		return false, err
	}
	if err := netconf.AddAddr(dev.Index, c.Addr); err != nil {
		return false, err
	}
	if c.Gateway.IsValid() {
		if err := netconf.AddDefaultRoute(dev.Index, c.Gateway); err != nil {
			return false, err
		}
	}
	if err := writeResolvConf(b); err != nil {
		log.Warn("resolv.conf", "err", err)
	}
	log.Info("network configured", "dev", dev.Name, "addr", c.Addr.String(), "gw", c.Gateway.String())
	return true, nil
}

// waitForLink polls for the named interface, or for any non-loopback one
// when name is "".
func waitForLink(name string, limit time.Duration) (*net.Interface, error) {
	deadline := time.Now().Add(limit)
	for {
		n := name
		if n == "" {
			n, _ = netconf.FirstEthernet()
		}
		if n != "" {
			if i, err := net.InterfaceByName(n); err == nil {
				return i, nil
			}
		}
		if time.Now().After(deadline) {
			if name == "" {
				name = "(any)"
			}
			return nil, fmt.Errorf("network device %s did not appear within %v", name, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeResolvConf(b cmdline.Boot) error {
	if len(b.DNS) == 0 {
		return nil
	}
	var sb strings.Builder
	for _, d := range b.DNS {
		sb.WriteString("nameserver " + d.String() + "\n")
	}
	return os.WriteFile("/etc/resolv.conf", []byte(sb.String()), 0o644)
}

func setHostname(name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("sethostname %q: %w", name, err)
	}
	return nil
}

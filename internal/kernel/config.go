package kernel

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Config is a parsed kernel .config: option name (with CONFIG_) to value
// ("y", "m", a number or a quoted string). Options set to "is not set" are
// absent.
type Config map[string]string

// ParseConfig reads a kernel .config (as shipped in /boot/config-<ver>).
// Comments and blank lines are ignored; a malformed line is an error
// naming its line number.
func ParseConfig(r io.Reader) (Config, error) {
	c := Config{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "CONFIG_") || len(k) == len("CONFIG_") {
			return nil, fmt.Errorf("kernel config line %d: malformed %q", n, line)
		}
		c[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Tristate returns "y", "m" or "" (unset or "n") for an option.
func (c Config) Tristate(name string) string {
	switch v := c[name]; v {
	case "y", "m":
		return v
	}
	return ""
}

// Check is one line of a suitability report.
type Check struct {
	Option string `json:"option"`
	Value  string `json:"value"` // "y", "m" or "" (not set)
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Report says whether a kernel can run under Firecracker.
type Report struct {
	Checks []Check `json:"checks"`
	// Usable is false when Firecracker cannot boot the kernel into smolvm's
	// agent at all.
	Usable bool `json:"usable"`
	// NeedsACPIDiscovery is true when the kernel cannot take virtio-mmio
	// devices from the command line (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES
	// unset), so it finds them only through Firecracker's ACPI tables.
	NeedsACPIDiscovery bool `json:"needs_acpi_discovery"`
	// CmdlineDevices is true when virtio_mmio.device= parameters work.
	CmdlineDevices bool `json:"cmdline_devices"`
	// Warnings are for the user, one sentence each.
	Warnings []string `json:"warnings,omitempty"`
}

// Assess judges a kernel config for Firecracker: virtio-mmio transport,
// how devices are discovered (command line or ACPI), virtio-blk and vsock.
func Assess(c Config) Report {
	var r Report
	add := func(opt string, ok bool, detail string) {
		r.Checks = append(r.Checks, Check{Option: opt, Value: c.Tristate(opt), OK: ok, Detail: detail})
	}
	mmio := c.Tristate("CONFIG_VIRTIO_MMIO")
	add("CONFIG_VIRTIO_MMIO", mmio != "", "virtio-mmio transport (Firecracker's only virtio transport); as a module it must be in the initrd")
	cmdline := c.Tristate("CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES") == "y"
	add("CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES", true, "devices can be declared with virtio_mmio.device= on the command line")
	acpi := c.Tristate("CONFIG_ACPI") == "y"
	add("CONFIG_ACPI", acpi || cmdline, "ACPI device discovery (Firecracker describes virtio-mmio devices in its ACPI tables)")
	blk := c.Tristate("CONFIG_VIRTIO_BLK")
	add("CONFIG_VIRTIO_BLK", blk != "", "root disk")
	vs := c.Tristate("CONFIG_VIRTIO_VSOCKETS")
	add("CONFIG_VIRTIO_VSOCKETS", vs != "", "vsock transport for SSH without root")
	add("CONFIG_VSOCKETS", c.Tristate("CONFIG_VSOCKETS") != "", "AF_VSOCK sockets")
	add("CONFIG_SERIAL_8250_CONSOLE", c.Tristate("CONFIG_SERIAL_8250_CONSOLE") == "y", "serial console on ttyS0 (boot diagnostics)")

	r.CmdlineDevices = mmio != "" && cmdline
	r.NeedsACPIDiscovery = mmio != "" && !cmdline
	r.Usable = mmio != "" && blk != "" && (cmdline || acpi)
	if mmio == "" {
		r.Warnings = append(r.Warnings, "the kernel has no virtio-mmio support (CONFIG_VIRTIO_MMIO): it cannot see any Firecracker device")
	}
	if r.NeedsACPIDiscovery {
		if acpi {
			r.Warnings = append(r.Warnings, "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set: the kernel finds Firecracker's virtio-mmio devices only through Firecracker's ACPI tables (Firecracker 1.8 or newer); with an older Firecracker use a Firecracker-ready vmlinux")
		} else {
			r.Warnings = append(r.Warnings, "neither CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES nor CONFIG_ACPI is set: the kernel cannot discover Firecracker's virtio-mmio devices; use a Firecracker-ready vmlinux")
		}
	}
	if blk == "" {
		r.Warnings = append(r.Warnings, "no virtio-blk (CONFIG_VIRTIO_BLK): the root disk is invisible")
	}
	if vs == "" {
		r.Warnings = append(r.Warnings, "no virtio vsock (CONFIG_VIRTIO_VSOCKETS): SSH needs --network tap")
	}
	return r
}

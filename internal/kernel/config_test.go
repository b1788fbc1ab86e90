package kernel

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("# comment\n\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"str\"\nCONFIG_E=n\n"))
	if err != nil {
		t.Fatal(err)
	}
	for opt, want := range map[string]string{"CONFIG_A": "y", "CONFIG_B": "m", "CONFIG_C": "", "CONFIG_D": "", "CONFIG_E": ""} {
		if got := c.Tristate(opt); got != want {
			t.Errorf("%s = %q, want %q", opt, got, want)
		}
	}
	for _, bad := range []string{"FOO=y\n", "CONFIG_A\n", "CONFIG_=y\n"} {
		if _, err := ParseConfig(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}

func TestAssess(t *testing.T) {
	base := "CONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_VSOCKETS=m\nCONFIG_VSOCKETS=m\nCONFIG_SERIAL_8250_CONSOLE=y\n"
	cases := []struct {
		name                      string
		cfg                       string
		usable, acpiOnly, cmdline bool
		warn                      string
	}{
		{"firecracker-ready", base + "CONFIG_VIRTIO_MMIO=y\nCONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y\n", true, false, true, ""},
		{"debian cloud: acpi only", base + "CONFIG_VIRTIO_MMIO=m\nCONFIG_ACPI=y\n", true, true, false, "ACPI tables"},
		{"no discovery at all", base + "CONFIG_VIRTIO_MMIO=y\n", false, true, false, "cannot discover"},
		{"no virtio-mmio", base + "CONFIG_ACPI=y\n", false, false, false, "no virtio-mmio"},
		{"no virtio-blk", "CONFIG_VIRTIO_MMIO=y\nCONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y\nCONFIG_VIRTIO_VSOCKETS=y\n", false, false, true, "virtio-blk"},
		{"no vsock", "CONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_MMIO=y\nCONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y\n", true, false, true, "--network tap"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig(strings.NewReader(c.cfg))
			if err != nil {
				t.Fatal(err)
			}
			r := Assess(cfg)
			if r.Usable != c.usable || r.NeedsACPIDiscovery != c.acpiOnly || r.CmdlineDevices != c.cmdline {
				t.Fatalf("got %+v", r)
			}
			all := strings.Join(r.Warnings, "\n")
			if (c.warn == "") != (all == "") || !strings.Contains(all, c.warn) {
				t.Fatalf("warnings %q, want one containing %q", all, c.warn)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("CONFIG_A=y\n# CONFIG_B is not set\n")
	f.Add("CONFIG_VIRTIO_MMIO=m\r\nCONFIG_ACPI=y")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig(strings.NewReader(s))
		if err == nil {
			_ = Assess(c)
			for k := range c {
				if !strings.HasPrefix(k, "CONFIG_") {
					t.Fatalf("key %q", k)
				}
			}
		}
	})
}

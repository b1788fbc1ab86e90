package smolvm

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/env"
)

func TestValidateID(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"a", true}, {"0", true}, {"vm-1234abcd", true}, {"a_b-c", true}, {long, true},
		{"", false}, {long + "a", false}, {"-a", false}, {"a-", false}, {"_a", false},
		{"A", false}, {"a.b", false}, {"a b", false}, {"a/b", false}, {"../x", false},
		{"a\n", false}, {"é", false},
	} {
		err := ValidateID(tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateID(%q) error %v does not match ErrInvalid", tc.id, err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^vm-[0-9a-f]{8}$`).MatchString(c.ID) {
		t.Errorf("auto ID %q, want vm-<8 hex>", c.ID)
	}
	if c.VCPUs != 1 || c.MemoryMiB != 512 || c.BootArgs != SSHBootArgs || c.DiskMode != DiskIsolated {
		t.Errorf("auto-config defaults = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	k := writeFile(t, "k")
	c, _ = Config{KernelPath: k, RootfsPath: k}.withDefaults()
	if c.VCPUs != DefaultVCPUs {
		t.Errorf("VCPUs default with own image = %d, want %d", c.VCPUs, DefaultVCPUs)
	}
	in := map[string]string{"A": "1"}
	c, _ = Config{Env: in}.withDefaults()
	c.Env["A"] = "changed"
	if in["A"] != "1" {
		t.Error("withDefaults shares the caller's Env map")
	}
}

func writeFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigValidate(t *testing.T) {
	file := writeFile(t, "f")
	dir := t.TempDir()
	base := Config{ID: "ok", VCPUs: 1, MemoryMiB: 512, DiskMode: DiskIsolated}
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		field string // "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"bad id", func(c *Config) { c.ID = "Bad" }, "Config.ID"},
		{"zero cpus", func(c *Config) { c.VCPUs = 0 }, "Config.VCPUs"},
		{"33 cpus", func(c *Config) { c.VCPUs = 33 }, "Config.VCPUs"},
		{"32 cpus", func(c *Config) { c.VCPUs = 32 }, ""},
		{"127 MiB", func(c *Config) { c.MemoryMiB = 127 }, "Config.MemoryMiB"},
		{"16385 MiB", func(c *Config) { c.MemoryMiB = 16385 }, "Config.MemoryMiB"},
		{"128 MiB", func(c *Config) { c.MemoryMiB = 128 }, ""},
		{"kernel without rootfs", func(c *Config) { c.KernelPath = file }, "Config.RootfsPath"},
		{"rootfs without kernel", func(c *Config) { c.RootfsPath = file }, "Config.KernelPath"},
		{"missing kernel", func(c *Config) { c.KernelPath, c.RootfsPath = filepath.Join(dir, "nope"), file }, "Config.KernelPath"},
		{"missing rootfs", func(c *Config) { c.KernelPath, c.RootfsPath = file, filepath.Join(dir, "nope") }, "Config.RootfsPath"},
		{"missing initrd", func(c *Config) { c.KernelPath, c.RootfsPath, c.InitrdPath = file, file, filepath.Join(dir, "nope") }, "Config.InitrdPath"},
		{"kernel is a dir", func(c *Config) { c.KernelPath, c.RootfsPath = dir, file }, "Config.KernelPath"},
		{"own image", func(c *Config) { c.KernelPath, c.RootfsPath = file, file }, ""},
		{"bad backend", func(c *Config) { c.Backend = "xen" }, "Config.Backend"},
		{"bad disk mode", func(c *Config) { c.DiskMode = "cow" }, "Config.DiskMode"},
		{"bad network", func(c *Config) { c.Network = "bridge" }, "Config.Network"},
		{"shared default image", func(c *Config) { c.DiskMode = DiskShared }, "Config.DiskMode"},
		{"shared own image", func(c *Config) { c.DiskMode, c.KernelPath, c.RootfsPath = DiskShared, file, file }, ""},
		{"boot args newline", func(c *Config) { c.BootArgs = "a\nb" }, "Config.BootArgs"},
		{"env bad key", func(c *Config) { c.Env = map[string]string{"FOO-BAR": "x"} }, "Config.Env"},
		{"env NUL value", func(c *Config) { c.Env = map[string]string{"A": "x\x00y"} }, "Config.Env"},
		{"env ok", func(c *Config) { c.Env = map[string]string{"A": "it's $5\n"} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("Validate() = %v, want a ValidationError for %s", err, tc.field)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
		})
	}
}

func TestConfigEnvErrorNamesKeyNotValue(t *testing.T) {
	err := Config{ID: "a", VCPUs: 1, MemoryMiB: 512, Env: map[string]string{"SECRET": "hunter2\x00"}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v must name the key and not the value", err)
	}
	if !errors.Is(err, env.ErrInvalidValue) {
		t.Errorf("error %v does not wrap env.ErrInvalidValue", err)
	}
}

func TestBootCmdline(t *testing.T) {
	got := bootCmdline(" console=ttyS0 quiet ", "vm-1", "ssh-ed25519 AAAA x")
	want := "console=ttyS0 quiet smolvm.hostname=vm-1 smolvm.authkey=c3NoLWVkMjU1MTkgQUFBQSB4"
	if got != want {
		t.Errorf("bootCmdline = %q, want %q", got, want)
	}
}

func TestCanRunCommands(t *testing.T) {
	for _, tc := range []struct {
		args string
		want bool
	}{
		{"", true}, {SSHBootArgs, true}, {"console=ttyS0", true}, {"console=tty0", false}, {"quiet", false},
	} {
		if got := (Config{BootArgs: tc.args}).CanRunCommands(); got != tc.want {
			t.Errorf("CanRunCommands(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestResultOutput(t *testing.T) {
	r := &Result{Stdout: []byte("  production\n\n")}
	if r.Output() != "production" {
		t.Errorf("Output() = %q", r.Output())
	}
	if string(r.Stdout) != "  production\n\n" {
		t.Error("Output() changed Stdout")
	}
}

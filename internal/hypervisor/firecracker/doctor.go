package firecracker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/google/nftables"

	"github.com/smolvm/smolvm/internal/kernel"
)

// Check is one line of the Firecracker doctor report; the CLI prints it.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	// Optional checks do not stop Firecracker VMs from running with the
	// defaults (jailer, nftables for --network tap).
	Optional bool `json:"optional,omitempty"`
}

// DoctorOptions says what to inspect. The zero value checks the programs
// on PATH and the host, and no kernel.
type DoctorOptions struct {
	Firecracker, Jailer string // empty: "firecracker", "jailer" on PATH
	// Vmlinux is a kernel image to check for Firecracker (ELF x86-64).
	Vmlinux string
	// KernelConfig is the kernel's .config (e.g. /boot/config-<ver> from its
	// package) to judge virtio-mmio device discovery.
	KernelConfig string
	// KVM and NFTables replace the host probes (tests).
	KVM      func() (bool, string)
	NFTables func() error
}

// Doctor reports on everything Firecracker VMs need here: firecracker and
// jailer presence and version, KVM usability and why not, vsock,
// nftables (for --network tap), and the kernel's suitability.
func Doctor(ctx context.Context, o DoctorOptions) []Check {
	if o.Firecracker == "" {
		o.Firecracker = "firecracker"
	}
	if o.Jailer == "" {
		o.Jailer = "jailer"
	}
	if o.KVM == nil {
		o.KVM = HostKVM
	}
	if o.NFTables == nil {
		o.NFTables = probeNFTables
	}
	checks := []Check{
		programCheck(ctx, "firecracker", o.Firecracker, false,
			"download a release from https://github.com/firecracker-microvm/firecracker/releases and put firecracker on PATH"),
		programCheck(ctx, "jailer", o.Jailer, true, "only needed when the jailer is configured; it ships in the same release archive"),
	}
	if ok, why := o.KVM(); ok {
		checks = append(checks, Check{Name: "kvm", OK: true, Detail: "usable (vmx/svm flag, /dev/kvm read-write, API 12)"})
	} else {
		checks = append(checks, Check{Name: "kvm", Detail: why,
			Fix: "run on a host (or a VM with nested virtualisation) whose CPU exposes VT-x/AMD-V, and give this user rw on /dev/kvm"})
	}
	checks = append(checks, vsockCheck(), nftCheck(o.NFTables))
	checks = append(checks, kernelChecks(o)...)
	return checks
}

func programCheck(ctx context.Context, name, prog string, optional bool, fix string) Check {
	p, err := exec.LookPath(prog)
	if err != nil {
		return Check{Name: name, Optional: optional, Detail: prog + " not found", Fix: fix}
	}
	v, err := Version(ctx, p)
	if err != nil {
		return Check{Name: name, Optional: optional, Detail: fmt.Sprintf("%s found but %v", p, err), Fix: fix}
	}
	return Check{Name: name, OK: true, Optional: optional, Detail: p + ": " + v}
}

func vsockCheck() Check {
	const dev = "/dev/vhost-vsock"
	_, err := os.Stat(dev)
	if err == nil {
		return Check{Name: "vsock", OK: true, Optional: true, Detail: dev + " present (Firecracker emulates vsock itself and serves it on a unix socket: no root needed)"}
	}
	return Check{Name: "vsock", Optional: true,
		Detail: dev + " missing; Firecracker emulates vsock itself, so SSH over its unix socket still works",
		Fix:    "modprobe vhost_vsock (CONFIG_VHOST_VSOCK) if another VMM needs it"}
}

func probeNFTables() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	_, err = c.ListTables()
	return err
}

func nftCheck(probe func() error) Check {
	err := probe()
	if err == nil {
		return Check{Name: "nftables", OK: true, Optional: true, Detail: "kernel nf_tables answers (for --network tap)"}
	}
	fix := "only --network tap needs it: run as root on a kernel with nf_tables (modprobe nf_tables); `apt-get install nftables` for the nft tool"
	if errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "operation not permitted") {
		return Check{Name: "nftables", Optional: true, Detail: "needs root (CAP_NET_ADMIN): " + err.Error(), Fix: fix}
	}
	return Check{Name: "nftables", Optional: true, Detail: err.Error(), Fix: fix}
}

func kernelChecks(o DoctorOptions) []Check {
	var out []Check
	if o.Vmlinux != "" {
		info, err := kernel.CheckELF(o.Vmlinux)
		if err != nil {
			out = append(out, Check{Name: "kernel image", Detail: err.Error(),
				Fix: "smolvm extracts the vmlinux from the Debian bzImage when it builds a Firecracker image, or pass a Firecracker-ready vmlinux"})
		} else {
			out = append(out, Check{Name: "kernel image", OK: true,
				Detail: fmt.Sprintf("%s: ELF %s %s entry %#x", o.Vmlinux, info.Class, info.Machine, info.Entry)})
		}
	}
	if o.KernelConfig != "" {
		f, err := os.Open(o.KernelConfig)
		if err != nil {
			return append(out, Check{Name: "kernel config", Detail: err.Error()})
		}
		defer func() { _ = f.Close() }()
		cfg, err := kernel.ParseConfig(f)
		if err != nil {
			return append(out, Check{Name: "kernel config", Detail: err.Error()})
		}
		r := kernel.Assess(cfg)
		c := Check{Name: "kernel config", OK: r.Usable, Detail: strings.Join(r.Warnings, "; ")}
		if c.Detail == "" {
			c.Detail = "virtio-mmio, virtio-blk and vsock present; devices can be declared on the command line"
		}
		if !r.Usable {
			c.Fix = "use a Firecracker-ready vmlinux (CONFIG_VIRTIO_MMIO=y, CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y, CONFIG_VIRTIO_BLK=y, CONFIG_VIRTIO_VSOCKETS=y)"
		}
		out = append(out, c)
	}
	return out
}

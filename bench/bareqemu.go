package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/smolvm/smolvm"
	"github.com/smolvm/smolvm/internal/console"
	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/hypervisor/qemu"
	"github.com/smolvm/smolvm/internal/paths"
)

// BareBoot boots a kernel with the baseline initrd using the QEMU command
// line smolvm's backend builds (qemu.Argv: same machine type, accelerator,
// devices and kernel command line), with the same vCPUs and memory as a
// default smolvm VM.
type BareBoot struct {
	Kernel, Initrd string
	Accel          string
	VCPUs          int
	MemoryMiB      int
	Dir            string // scratch directory for the disk, serial log, sockets
}

// BareSample is one bare boot: process start to QEMU exit, and the
// kernel's time to run init as the init itself reported it.
type BareSample struct {
	Wall       time.Duration
	KernelInit time.Duration // 0 when the console line was missing
}

// argv returns the QEMU arguments for one boot in b.Dir.
func (b BareBoot) argv() ([]string, paths.VM, error) {
	layout := paths.VM{Dir: b.Dir}
	port, err := freePort()
	if err != nil {
		return nil, layout, err
	}
	// Argv wants a disk; the bare init never touches it.
	disk := filepath.Join(b.Dir, "disk.raw")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o600); err != nil {
		return nil, layout, err
	}
	spec := hypervisor.Spec{
		ID: "bare", Dir: b.Dir, Kernel: b.Kernel, Initrd: b.Initrd, Disk: disk,
		VCPUs: b.VCPUs, MemoryMiB: b.MemoryMiB, Cmdline: smolvm.SSHBootArgs, SSHPort: port,
	}
	a, err := qemu.Argv(qemu.Launch{Spec: spec, Accel: b.Accel, Layout: layout, DiskFormat: qemu.FormatRaw})
	return a, layout, err
}

// Run boots once and waits for QEMU to exit (the init powers off).
func (b BareBoot) Run(ctx context.Context) (BareSample, error) {
	for _, f := range []string{"serial.log", "vmm.pid", "qmp.sock"} {
		_ = os.Remove(filepath.Join(b.Dir, f))
	}
	args, layout, err := b.argv()
	if err != nil {
		return BareSample{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return BareSample{}, fmt.Errorf("bare boot: %w: %s", err, tail(stderr.String()))
	}
	s := BareSample{Wall: time.Since(start)}
	f, err := os.Open(layout.SerialLog())
	if err != nil {
		return s, err
	}
	defer func() { _ = f.Close() }()
	rep, err := console.Parse(f)
	if err != nil {
		return s, err
	}
	d, ok := rep.Milestones[console.AgentStart]
	if !ok {
		return s, fmt.Errorf("bare boot: init printed no milestone (serial log %s)", layout.SerialLog())
	}
	s.KernelInit = d
	return s, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string) string {
	if len(s) > 400 {
		return "..." + s[len(s)-400:]
	}
	return s
}

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor/qemu"
)

// Machine is where a report was measured.
type Machine struct {
	CPUModel    string `json:"cpu_model"`
	Cores       int    `json:"cores"`
	MemoryMiB   int    `json:"memory_mib"`
	Accel       string `json:"accelerator"`                // "kvm" or "tcg", as smolvm's QEMU backend picks it
	AccelNote   string `json:"accelerator_note,omitempty"` // why not KVM
	HostKernel  string `json:"host_kernel"`
	GuestKernel string `json:"guest_kernel,omitempty"` // uname -r in a VM, when one booted
	Commit      string `json:"git_commit"`             // with "-dirty" when the tree had changes
	Date        string `json:"date"`                   // RFC 3339, UTC
	GoVersion   string `json:"go_version"`
}

// DetectMachine describes this host. Facts it cannot read are left empty.
func DetectMachine(ctx context.Context, now time.Time) Machine {
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	meminfo, _ := os.ReadFile("/proc/meminfo")
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	accel, why := qemu.DetectAccel(qemu.HostAccelInputs())
	return Machine{
		CPUModel:   field(string(cpuinfo), "model name"),
		Cores:      runtime.NumCPU(),
		MemoryMiB:  memTotalMiB(string(meminfo)),
		Accel:      accel,
		AccelNote:  why,
		HostKernel: strings.TrimSpace(string(release)),
		Commit:     gitCommit(ctx),
		Date:       now.UTC().Format(time.RFC3339),
		GoVersion:  runtime.Version(),
	}
}

// field returns the value of the first "key : value" line of text.
func field(text, key string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memTotalMiB reads MemTotal (kB) from /proc/meminfo text.
func memTotalMiB(meminfo string) int {
	f := strings.Fields(field(meminfo, "MemTotal"))
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return kb / 1024
}

// gitCommit is HEAD's hash, "-dirty" appended when tracked files differ.
func gitCommit(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += "-dirty"
	}
	return c
}

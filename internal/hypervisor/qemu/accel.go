package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// Accelerators Start can use.
const (
	AccelKVM = "kvm"
	AccelTCG = "tcg"
)

// kvmAPIVersion is the only KVM API version Linux has ever reported.
const kvmAPIVersion = 12

// kvmGetAPIVersion is _IO(KVMIO=0xAE, 0x00).
const kvmGetAPIVersion = 0xAE00

// AccelInputs are the host facts DetectAccel decides from, injectable so
// every rule can be tested without the host having it.
type AccelInputs struct {
	// CPUInfo is the text of /proc/cpuinfo; CPUInfoErr the error reading it.
	CPUInfo    string
	CPUInfoErr error
	// KVMAPIVersion opens /dev/kvm read-write and asks KVM_GET_API_VERSION.
	// It is only called when the CPU flags allow KVM.
	KVMAPIVersion func() (int, error)
}

// HostAccelInputs reads this host's /proc/cpuinfo and probes /dev/kvm.
func HostAccelInputs() AccelInputs {
	b, err := os.ReadFile("/proc/cpuinfo")
	return AccelInputs{CPUInfo: string(b), CPUInfoErr: err, KVMAPIVersion: probeKVM}
}

// DetectAccel returns "kvm" only when the CPU advertises hardware
// virtualisation (a vmx or svm flag in /proc/cpuinfo), /dev/kvm opens
// read-write and it answers KVM_GET_API_VERSION with 12. /dev/kvm alone is
// no proof: a paravirtual nested KVM can accept VMs that stock guests
// cannot run in. Otherwise it returns "tcg" and a one-line reason.
func DetectAccel(in AccelInputs) (accel, why string) {
	const tcg = ", using TCG emulation (slow)"
	if in.CPUInfoErr != nil {
		return AccelTCG, fmt.Sprintf("cannot read /proc/cpuinfo (%v)%s", in.CPUInfoErr, tcg)
	}
	if !HasVirtFlag(in.CPUInfo) {
		return AccelTCG, "no vmx/svm CPU flag: this host's KVM cannot run stock guests" + tcg
	}
	if in.KVMAPIVersion == nil {
		return AccelTCG, "no KVM probe" + tcg
	}
	v, err := in.KVMAPIVersion()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return AccelTCG, "/dev/kvm missing (load kvm_intel or kvm_amd)" + tcg
	case errors.Is(err, fs.ErrPermission):
		return AccelTCG, "/dev/kvm not writable (add this user to the kvm group)" + tcg
	case err != nil:
		return AccelTCG, fmt.Sprintf("/dev/kvm unusable (%v)%s", err, tcg)
	case v != kvmAPIVersion:
		return AccelTCG, fmt.Sprintf("/dev/kvm reports KVM API version %d, want %d%s", v, kvmAPIVersion, tcg)
	}
	return AccelKVM, ""
}

// HasVirtFlag reports whether any "flags" line of /proc/cpuinfo text lists
// vmx (Intel VT-x) or svm (AMD-V) as a whole word.
func HasVirtFlag(cpuinfo string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		for _, f := range strings.Fields(val) {
			if f == "vmx" || f == "svm" {
				return true
			}
		}
	}
	return false
}

// probeKVM opens /dev/kvm read-write and returns its KVM API version.
func probeKVM() (int, error) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	r, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), kvmGetAPIVersion, 0)
	if errno != 0 {
		return 0, fmt.Errorf("KVM_GET_API_VERSION: %w", errno)
	}
	return int(r), nil
}

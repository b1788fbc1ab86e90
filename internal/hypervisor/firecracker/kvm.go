package firecracker

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/smolvm/smolvm/internal/hypervisor/qemu"
)

// HostKVM reports whether this host's KVM can run Firecracker guests, and
// if not why (see KVMUsable).
func HostKVM() (bool, string) { return KVMUsable(qemu.HostAccelInputs()) }

// KVMUsable decides from host facts: the CPU must advertise vmx or svm in
// /proc/cpuinfo (a /dev/kvm without them, such as a paravirtual nested
// KVM, cannot run stock guests), and /dev/kvm must open read-write and
// report KVM API version 12.
func KVMUsable(in qemu.AccelInputs) (bool, string) {
	if in.CPUInfoErr != nil {
		return false, fmt.Sprintf("cannot read /proc/cpuinfo: %v", in.CPUInfoErr)
	}
	if !qemu.HasVirtFlag(in.CPUInfo) {
		return false, "the CPU has no vmx/svm flag in /proc/cpuinfo: this host's KVM cannot run stock guests (enable VT-x/AMD-V or nested virtualisation)"
	}
	if in.KVMAPIVersion == nil {
		return false, "no KVM probe"
	}
	v, err := in.KVMAPIVersion()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, "/dev/kvm is missing (modprobe kvm_intel or kvm_amd)"
	case errors.Is(err, fs.ErrPermission):
		return false, "/dev/kvm is not read-write for this user (add it to the kvm group)"
	case err != nil:
		return false, fmt.Sprintf("/dev/kvm is unusable: %v", err)
	case v != 12:
		return false, fmt.Sprintf("/dev/kvm reports KVM API version %d, want 12", v)
	}
	return true, ""
}

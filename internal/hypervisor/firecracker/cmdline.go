package firecracker

import "strings"

// RequiredArgs are appended to every guest command line unless the caller
// already set the same key: the serial console Firecracker emulates,
// reboot by keyboard controller (so a guest reboot ends the VMM and
// SendCtrlAltDel reaches the agent) and an immediate reboot on panic.
var RequiredArgs = []string{"console=ttyS0", "reboot=k", "panic=1"}

// Cmdline returns base with each of RequiredArgs and extra appended unless
// a parameter with the same key (text before '=') is already present.
// Firecracker itself appends virtio_mmio.device= parameters for its devices
// on x86_64; kernels without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES ignore them
// and discover the devices through Firecracker's ACPI tables instead.
func Cmdline(base string, extra ...string) string {
	fields := strings.Fields(base)
	have := map[string]bool{}
	for _, f := range fields {
		have[argKey(f)] = true
	}
	for _, a := range append(append([]string(nil), RequiredArgs...), extra...) {
		if a == "" || have[argKey(a)] {
			continue
		}
		have[argKey(a)] = true
		fields = append(fields, a)
	}
	return strings.Join(fields, " ")
}

func argKey(a string) string {
	k, _, _ := strings.Cut(a, "=")
	return k
}

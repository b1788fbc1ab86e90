package firecracker

import "strings"

// RequiredArgs are appended to every guest command line unless the caller
// already set the same key: the serial console Firecracker emulates,
// reboot through the keyboard controller and a reboot on panic.
var RequiredArgs = []string{"console=ttyS0", "reboot=k", "panic=1"}

// forcedArgs replace the caller's value: Firecracker ends the VMM on an
// i8042 reset, so reboot=k is what makes a guest reboot or panic stop the
// VM (another reboot= method would hang or be ignored).
var forcedArgs = map[string]string{"reboot": "reboot=k"}

// Cmdline returns base with each of RequiredArgs and extra appended unless
// a parameter with the same key (text before '=') is already present;
// reboot= is always set to k.
// Firecracker itself appends virtio_mmio.device= parameters for its devices
// on x86_64; kernels without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES ignore them
// and discover the devices through Firecracker's ACPI tables instead.
func Cmdline(base string, extra ...string) string {
	fields := strings.Fields(base)
	have := map[string]bool{}
	for i, f := range fields {
		if v, ok := forcedArgs[argKey(f)]; ok {
			fields[i] = v
		}
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

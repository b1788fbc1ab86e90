package firecracker

import (
	"os/exec"
	"strings"
)

// Probe holds the host facts Select decides from, injectable for tests.
type Probe struct {
	LookPath func(string) (string, error)
	KVM      func() (bool, string)
}

// HostProbe looks at this host.
func HostProbe() Probe { return Probe{LookPath: exec.LookPath, KVM: HostKVM} }

// Select picks the backend: explicit (a --backend flag) wins, then
// fromEnv (the value of SMOLVM_BACKEND, which the CLI reads and passes),
// else auto: "firecracker" when its binary is on PATH and KVM is usable,
// else "qemu". why says which rule decided. Names are lower-cased and not
// validated here (the facade's Config validation does that).
func Select(explicit, fromEnv string) (name, why string) {
	return SelectWith(explicit, fromEnv, HostProbe())
}

// SelectWith is Select with the host facts given.
func SelectWith(explicit, fromEnv string, p Probe) (name, why string) {
	if s := strings.ToLower(strings.TrimSpace(explicit)); s != "" {
		return s, "chosen explicitly"
	}
	if s := strings.ToLower(strings.TrimSpace(fromEnv)); s != "" {
		return s, "chosen by SMOLVM_BACKEND"
	}
	if _, err := p.LookPath("firecracker"); err != nil {
		return "qemu", "auto: firecracker is not on PATH"
	}
	if ok, kvmWhy := p.KVM(); !ok {
		return "qemu", "auto: firecracker found but KVM is not usable: " + kvmWhy
	}
	return Name, "auto: firecracker found and KVM is usable"
}

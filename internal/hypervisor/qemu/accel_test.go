package qemu

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

const (
	cpuVMX   = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse vmx sse2\n\n"
	cpuSVM   = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm sse2 lm\n"
	cpuNone  = "processor\t: 0\nflags\t\t: fpu vme de pse sse2 hypervisor\n"
	cpuMixed = "processor\t: 0\nflags\t\t: fpu sse2\n\nprocessor\t: 1\nflags\t\t: fpu vmx sse2\n"
)

func kvmReturns(v int, err error) func() (int, error) {
	return func() (int, error) { return v, err }
}

// TestDetectAccel has one case per rule of the KVM decision.
func TestDetectAccel(t *testing.T) {
	cases := []struct {
		name      string
		in        AccelInputs
		want      string
		whyHas    string
		probeUsed bool
	}{
		{"vmx and working kvm", AccelInputs{CPUInfo: cpuVMX, KVMAPIVersion: kvmReturns(12, nil)}, AccelKVM, "", true},
		{"svm and working kvm", AccelInputs{CPUInfo: cpuSVM, KVMAPIVersion: kvmReturns(12, nil)}, AccelKVM, "", true},
		{"flag on any cpu counts", AccelInputs{CPUInfo: cpuMixed, KVMAPIVersion: kvmReturns(12, nil)}, AccelKVM, "", true},
		{"no cpu flag although kvm answers", AccelInputs{CPUInfo: cpuNone, KVMAPIVersion: kvmReturns(12, nil)},
			AccelTCG, "no vmx/svm CPU flag: this host's KVM cannot run stock guests, using TCG emulation (slow)", false},
		{"flag name inside another word", AccelInputs{CPUInfo: "flags\t: fpu vmxe nosvm\n", KVMAPIVersion: kvmReturns(12, nil)},
			AccelTCG, "no vmx/svm", false},
		{"vmx outside a flags line", AccelInputs{CPUInfo: "model name\t: vmx svm\nflags\t: fpu\n", KVMAPIVersion: kvmReturns(12, nil)},
			AccelTCG, "no vmx/svm", false},
		{"cpuinfo unreadable", AccelInputs{CPUInfoErr: fs.ErrPermission, KVMAPIVersion: kvmReturns(12, nil)},
			AccelTCG, "cannot read /proc/cpuinfo", false},
		{"no /dev/kvm", AccelInputs{CPUInfo: cpuVMX, KVMAPIVersion: kvmReturns(0, &fs.PathError{Op: "open", Path: "/dev/kvm", Err: syscall.ENOENT})},
			AccelTCG, "/dev/kvm missing", true},
		{"/dev/kvm not writable", AccelInputs{CPUInfo: cpuVMX, KVMAPIVersion: kvmReturns(0, &fs.PathError{Op: "open", Path: "/dev/kvm", Err: syscall.EACCES})},
			AccelTCG, "kvm group", true},
		{"ioctl fails", AccelInputs{CPUInfo: cpuVMX, KVMAPIVersion: kvmReturns(0, errors.New("KVM_GET_API_VERSION: inappropriate ioctl"))},
			AccelTCG, "/dev/kvm unusable", true},
		{"wrong api version", AccelInputs{CPUInfo: cpuVMX, KVMAPIVersion: kvmReturns(11, nil)},
			AccelTCG, "API version 11, want 12", true},
		{"no probe", AccelInputs{CPUInfo: cpuVMX}, AccelTCG, "no KVM probe", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			used := false
			if p := c.in.KVMAPIVersion; p != nil {
				c.in.KVMAPIVersion = func() (int, error) { used = true; return p() }
			}
			got, why := DetectAccel(c.in)
			if got != c.want {
				t.Errorf("accel = %q, want %q (why %q)", got, c.want, why)
			}
			if c.want == AccelKVM && why != "" {
				t.Errorf("why = %q for kvm, want empty", why)
			}
			if c.want == AccelTCG {
				if !strings.Contains(why, c.whyHas) || !strings.HasSuffix(why, "using TCG emulation (slow)") || strings.Contains(why, "\n") {
					t.Errorf("why = %q, want one line containing %q", why, c.whyHas)
				}
			}
			if used != c.probeUsed {
				t.Errorf("/dev/kvm probed = %v, want %v", used, c.probeUsed)
			}
		})
	}
}

// TestHostAccel runs the real probe: on a host without vmx/svm it must
// choose TCG whatever /dev/kvm says; with them, KVM iff the probe answers 12.
func TestHostAccel(t *testing.T) {
	in := HostAccelInputs()
	if in.CPUInfoErr != nil {
		t.Fatalf("read /proc/cpuinfo: %v", in.CPUInfoErr)
	}
	accel, why := DetectAccel(in)
	t.Logf("this host: accel=%s why=%q", accel, why)
	if !HasVirtFlag(in.CPUInfo) {
		if accel != AccelTCG || !strings.HasPrefix(why, "no vmx/svm") {
			t.Fatalf("no virt flag but accel=%s why=%q", accel, why)
		}
		return
	}
	v, err := probeKVM()
	if want := err == nil && v == kvmAPIVersion; (accel == AccelKVM) != want {
		t.Fatalf("accel=%s but probe gave %d, %v", accel, v, err)
	}
}

// TestProbeKVM checks the probe's error on a host without /dev/kvm
// is recognisable; where /dev/kvm exists it checks the version instead.
func TestProbeKVM(t *testing.T) {
	v, err := probeKVM()
	if _, statErr := os.Stat("/dev/kvm"); errors.Is(statErr, fs.ErrNotExist) {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("no /dev/kvm but probe err = %v", err)
		}
		return
	}
	if err == nil && v != kvmAPIVersion {
		t.Logf("/dev/kvm reports API version %d", v)
	}
	if err != nil && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.ENOTTY) {
		t.Fatalf("probe: %v", err)
	}
}

// FuzzHasVirtFlag checks the cpuinfo parser never panics and agrees with a
// direct reading of the flags lines.
func FuzzHasVirtFlag(f *testing.F) {
	for _, s := range []string{cpuVMX, cpuSVM, cpuNone, cpuMixed, "", "flags:vmx", "flags : svm\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := HasVirtFlag(s)
		want := false
		for _, line := range strings.Split(s, "\n") {
			i := strings.IndexByte(line, ':')
			if i < 0 || strings.TrimSpace(line[:i]) != "flags" {
				continue
			}
			for _, w := range strings.Fields(line[i+1:]) {
				want = want || w == "vmx" || w == "svm"
			}
		}
		if got != want {
			t.Fatalf("HasVirtFlag(%q) = %v, want %v", s, got, want)
		}
	})
}

package smolvm

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/smolvm/smolvm/image"
	"github.com/smolvm/smolvm/internal/hypervisor/firecracker"
	"github.com/smolvm/smolvm/internal/hypervisor/qemu"
	"github.com/smolvm/smolvm/internal/paths"
)

// Check is one line of Doctor's report.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	// Optional checks do not stop smolvm from working (e.g. Firecracker on
	// a host where QEMU works).
	Optional bool `json:"optional,omitempty"`
}

// Doctor inspects the host: hypervisors and acceleration, image build
// tools, and the data and cache directories. Each failed check says how to
// fix it.
func Doctor(ctx context.Context, opts ...Option) []Check {
	o := buildOptions(opts)
	var checks []Check
	qb := qemu.New(qemu.Options{})
	if v, err := qb.Versions(ctx); err != nil {
		checks = append(checks, Check{Name: "qemu", Detail: err.Error(), Fix: "apt-get install qemu-system-x86 qemu-utils"})
	} else {
		checks = append(checks, Check{Name: "qemu", OK: true, Detail: fmt.Sprintf("%s, qemu-img %s", v.QEMU, v.QEMUImg)})
	}
	accel, why := qb.Accel()
	c := Check{Name: "acceleration", OK: true, Detail: accel}
	if accel != "kvm" {
		c.Detail = "tcg (software emulation, slow): " + why
		c.Fix = "use a host whose CPU exposes vmx/svm to this machine and make /dev/kvm read-writable"
	}
	checks = append(checks, c)
	checks = append(checks,
		toolCheck("mke2fs", "builds the root filesystem without root", "apt-get install e2fsprogs", false),
		busyboxCheck(),
		toolCheck("apt-get", "fetches the Debian kernel package", "run on Debian/Ubuntu, or pass --kernel-deb to `smolvm image build`", false),
		toolCheck("dpkg-deb", "unpacks the kernel package", "apt-get install dpkg", false),
		toolCheck("ssh", "used by `smolvm ssh`", "apt-get install openssh-client", true),
	)
	kernelConfig := ""
	dirs, st, err := openState(ctx, o)
	if err != nil {
		checks = append(checks, Check{Name: "data dir", Detail: err.Error(),
			Fix: "set SMOLVM_DATA_DIR to a writable absolute directory; if smolvm.db is corrupt, move it away (VM records are lost)"})
	} else {
		_ = st.Close()
		checks = append(checks, dataDirCheck(dirs), cacheDirCheck(dirs))
		imgs, err := image.List(dirs.Cache)
		c = Check{Name: "default image", OK: err == nil && len(imgs) > 0, Optional: true}
		switch {
		case err != nil:
			c.Detail = err.Error()
		case len(imgs) == 0:
			c.Detail = "not built yet (built on first use)"
			c.Fix = "smolvm image build"
		default:
			c.Detail = fmt.Sprintf("%d cached under %s (kernel %s)", len(imgs), filepath.Join(dirs.Cache, "images"), imgs[0].KernelVersion)
			if p := filepath.Join(imgs[0].Dir, "kernel.config"); fileExists(p) {
				kernelConfig = p
			}
		}
		checks = append(checks, c)
	}
	checks = append(checks, firecrackerChecks(ctx, kernelConfig)...)
	return checks
}

func toolCheck(name, what, fix string, optional bool) Check {
	p, err := exec.LookPath(name)
	if err != nil {
		return Check{Name: name, Detail: "not found: " + what, Fix: fix, Optional: optional}
	}
	return Check{Name: name, OK: true, Detail: p, Optional: optional}
}

// busyboxCheck looks for a static busybox on the host (else the image
// builder downloads busybox-static).
func busyboxCheck() Check {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, ph := range f.Progs {
			if ph.Type == elf.PT_INTERP {
				static = false
			}
		}
		_ = f.Close()
		if static {
			return Check{Name: "busybox", OK: true, Detail: p + " (static)"}
		}
		return Check{Name: "busybox", OK: true, Optional: true, Detail: p + " is dynamic: the image builder downloads busybox-static", Fix: "apt-get install busybox-static"}
	}
	if _, err := os.Stat("/usr/bin/apt-get"); err == nil {
		return Check{Name: "busybox", OK: true, Optional: true, Detail: "not installed: the image builder downloads busybox-static", Fix: "apt-get install busybox-static"}
	}
	return Check{Name: "busybox", Detail: "no static busybox", Fix: "install busybox-static"}
}

// firecrackerChecks reports on the Firecracker backend. Its checks are
// optional: QEMU serves where Firecracker cannot run.
func firecrackerChecks(ctx context.Context, kernelConfig string) []Check {
	name, why := firecracker.Select("", "")
	out := []Check{{Name: "backend", OK: true, Detail: name + " (" + why + ")"}}
	for _, c := range firecracker.Doctor(ctx, firecracker.DoctorOptions{KernelConfig: kernelConfig}) {
		out = append(out, Check{Name: "firecracker/" + c.Name, OK: c.OK, Detail: c.Detail, Fix: c.Fix, Optional: true})
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// dataDirCheck checks that VM directories under the data dir give unix
// socket paths the kernel can bind: it fails when even an auto-generated ID
// is too long, and says how long an ID may be otherwise.
func dataDirCheck(dirs paths.Dirs) Check {
	fits := func(n int) bool {
		for _, sock := range dirs.VM(strings.Repeat("x", n)).Sockets() {
			if paths.CheckSocket(sock) != nil {
				return false
			}
		}
		return true
	}
	const autoIDLen = len("vm-12345678")
	switch {
	case !fits(autoIDLen):
		return Check{Name: "data dir", Detail: dirs.Data + ": too long for the VMs' unix sockets (limit 107 bytes per path)",
			Fix: "set SMOLVM_DATA_DIR to a shorter absolute path"}
	case !fits(64):
		n := autoIDLen
		for fits(n + 1) {
			n++
		}
		return Check{Name: "data dir", OK: true, Detail: fmt.Sprintf("%s (VM IDs up to %d characters fit the unix socket path limit)", dirs.Data, n)}
	}
	return Check{Name: "data dir", OK: true, Detail: dirs.Data}
}

// cacheDirCheck checks that images can be built into the cache dir.
func cacheDirCheck(dirs paths.Dirs) Check {
	if err := os.MkdirAll(dirs.Cache, 0o755); err != nil {
		return Check{Name: "cache dir", Detail: err.Error(), Fix: "set SMOLVM_CACHE_DIR to a writable absolute directory"}
	}
	f, err := os.CreateTemp(dirs.Cache, ".doctor-")
	if err != nil {
		return Check{Name: "cache dir", Detail: dirs.Cache + " is not writable: " + err.Error(),
			Fix: "set SMOLVM_CACHE_DIR to a writable absolute directory"}
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return Check{Name: "cache dir", OK: true, Detail: dirs.Cache}
}

package qemu

import (
	"archive/tar"
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/smolvm/smolvm/internal/paths"
)

// Test kernel: the Debian cloud kernel, downloaded once with apt-get into
// the Debs() cache dir and unpacked (vmlinuz and the ACPI button module)
// into a directory removed when the test binary ends.
var (
	kernelOnce sync.Once
	kernelPath string
	buttonKO   []byte
	kernelErr  error
	kernelTmp  string
)

type testKernel struct {
	Vmlinuz string
	Button  []byte // drivers/acpi/button.ko, so a guest can see ACPI power-button presses
}

func needKernel(t *testing.T) testKernel {
	t.Helper()
	kernelOnce.Do(func() { kernelPath, buttonKO, kernelErr = fetchKernel() })
	if kernelErr != nil {
		t.Fatalf("test kernel: %v", kernelErr)
	}
	return testKernel{Vmlinuz: kernelPath, Button: buttonKO}
}

func fetchKernel() (string, []byte, error) {
	dirs, err := paths.Default()
	if err != nil {
		return "", nil, err
	}
	debs := dirs.Debs()
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", nil, err
	}
	pkg, err := cloudKernelPackage()
	if err != nil {
		return "", nil, err
	}
	deb, err := findDeb(debs, pkg)
	if err != nil {
		return "", nil, err
	}
	if deb == "" {
		cmd := exec.Command("apt-get", "download", pkg)
		cmd.Dir = debs
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("apt-get download %s: %w\n%s", pkg, err, out)
		}
		if deb, err = findDeb(debs, pkg); err != nil {
			return "", nil, err
		}
		if deb == "" {
			return "", nil, fmt.Errorf("apt-get download %s left no .deb in %s", pkg, debs)
		}
	}
	kernelTmp, err = os.MkdirTemp("", "smolvm-kernel")
	if err != nil {
		return "", nil, err
	}
	return extractKernel(deb, kernelTmp)
}

// cloudKernelPackage asks apt which versioned package the
// linux-image-cloud-amd64 metapackage depends on.
func cloudKernelPackage() (string, error) {
	out, err := exec.Command("apt-cache", "depends", "linux-image-cloud-amd64").Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends linux-image-cloud-amd64: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("apt-cache depends linux-image-cloud-amd64: no linux-image dependency in %q", out)
}

func findDeb(dir, pkg string) (string, error) {
	m, err := filepath.Glob(filepath.Join(dir, pkg+"_*_amd64.deb"))
	if err != nil || len(m) == 0 {
		return "", err
	}
	return m[len(m)-1], nil
}

// extractKernel streams the package's data tar from dpkg-deb and keeps
// only the kernel image and the ACPI button module.
func extractKernel(deb, dir string) (string, []byte, error) {
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	r, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("dpkg-deb: %w", err)
	}
	var vmlinuz string
	var button []byte
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return "", nil, fmt.Errorf("read %s: %w", deb, err)
		}
		name := strings.TrimPrefix(hdr.Name, ".")
		switch {
		case strings.HasPrefix(name, "/boot/vmlinuz-") && hdr.Typeflag == tar.TypeReg:
			vmlinuz = filepath.Join(dir, "vmlinuz")
			f, err := os.Create(vmlinuz)
			if err != nil {
				return "", nil, err
			}
			_, err = io.Copy(f, tr) //nolint:gosec // trusted distribution package
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", nil, err
			}
		case strings.HasSuffix(name, "/kernel/drivers/acpi/button.ko"):
			if button, err = io.ReadAll(tr); err != nil {
				return "", nil, err
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		return "", nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, stderr.String())
	}
	if vmlinuz == "" || button == nil {
		return "", nil, fmt.Errorf("%s: no /boot/vmlinuz-* or acpi/button.ko", deb)
	}
	return vmlinuz, button, nil
}

// staticBusybox returns the host's busybox when it is statically linked
// (busybox-static), the only kind that runs alone in an initrd.
func staticBusybox(t *testing.T) []byte {
	t.Helper()
	p, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox not found (apt-get install busybox-static): %v", err)
	}
	f, err := elf.Open(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked (apt-get install busybox-static)", p)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

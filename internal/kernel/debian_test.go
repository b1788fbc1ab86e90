package kernel

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// debianKernel downloads (once, into the cache's debs dir) the versioned
// package linux-image-cloud-amd64 depends on and returns its bzImage and
// config file contents.
func debianKernel(t *testing.T) (vmlinuz, config []byte) {
	t.Helper()
	aptCache := testenv.RequireTool(t, "apt-cache")
	aptGet := testenv.RequireTool(t, "apt-get")
	dpkgDeb := testenv.RequireTool(t, "dpkg-deb")
	out, err := exec.Command(aptCache, "depends", "linux-image-cloud-amd64").Output()
	if err != nil {
		t.Skipf("apt-cache depends linux-image-cloud-amd64: %v", err)
	}
	var pkg string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok && strings.HasPrefix(v, "linux-image-") {
			pkg = v
			break
		}
	}
	if pkg == "" {
		t.Skipf("no versioned kernel package in %q", out)
	}
	dirs, err := paths.Default()
	if err != nil {
		t.Fatal(err)
	}
	debs := dirs.Debs()
	if err := os.MkdirAll(debs, 0o755); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(debs, pkg+"_*_amd64.deb"))
	if len(matches) == 0 {
		tmp, err := os.MkdirTemp(debs, ".dl-")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		cmd := exec.Command(aptGet, "download", pkg)
		cmd.Dir = tmp
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("apt-get download %s: %v: %s", pkg, err, b)
		}
		got, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
		if len(got) != 1 {
			t.Fatalf("apt-get download left %v", got)
		}
		dst := filepath.Join(debs, filepath.Base(got[0]))
		if err := os.Rename(got[0], dst); err != nil {
			t.Fatal(err)
		}
		matches = []string{dst}
	}
	cmd := exec.Command(dpkgDeb, "--fsys-tarfile", matches[0])
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(pipe)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch name := strings.TrimPrefix(h.Name, "."); {
		case strings.HasPrefix(name, "/boot/vmlinuz-"):
			vmlinuz, err = io.ReadAll(tr)
		case strings.HasPrefix(name, "/boot/config-"):
			config, err = io.ReadAll(tr)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = cmd.Wait()
	if vmlinuz == nil || config == nil {
		t.Fatalf("%s: no /boot/vmlinuz-* or /boot/config-*", matches[0])
	}
	return vmlinuz, config
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs:\ngot:\n%s\nwant:\n%s", p, got, want)
	}
}

func TestDebianCloudKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: downloads a kernel package")
	}
	vmlinuz, config := debianKernel(t)
	x, err := Extract(vmlinuz)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "debian-cloud-vmlinux.json", struct {
		Format string `json:"format"`
		ELFInfo
	}{x.Format, x.Info})
	cfg, err := ParseConfig(strings.NewReader(string(config)))
	if err != nil {
		t.Fatal(err)
	}
	r := Assess(cfg)
	golden(t, "debian-cloud-suitability.json", r)
	if !r.NeedsACPIDiscovery || r.CmdlineDevices {
		t.Fatalf("Debian cloud kernel: want ACPI-only discovery, got %+v", r)
	}
	// The extracted file round-trips through ExtractFile/CheckELF.
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "vmlinux")
	if err := os.WriteFile(src, vmlinuz, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckELF(src); !errors.Is(err, ErrNotELF) || !strings.Contains(err.Error(), "bzImage") {
		t.Fatalf("CheckELF(bzImage) = %v", err)
	}
	if _, err := ExtractFile(src, dst); err != nil {
		t.Fatal(err)
	}
	info, err := CheckELF(dst)
	if err != nil || info != x.Info {
		t.Fatalf("CheckELF(vmlinux) = %+v, %v", info, err)
	}
	fmt.Fprintf(os.Stderr, "vmlinux: %d bytes, %s at offset %d\n", len(x.Vmlinux), x.Format, x.Offset)
}

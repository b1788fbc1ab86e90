package qemu

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/proc"
)

// bootTimeout bounds waiting for a guest marker; generous for TCG on a
// loaded host (a wait, never a pass/fail on speed).
const bootTimeout = 4 * time.Minute

// testVM prepares a VM directory (short path: the QMP socket must fit),
// an overlay disk, an initrd with the given /init and a free SSH port.
func testVM(t *testing.T, b *Backend, init string) hypervisor.Spec {
	t.Helper()
	k := needKernel(t)
	dir, err := os.MkdirTemp("", "smolvm-q")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := qemuProcsIn(dir); len(n) > 0 {
			t.Errorf("QEMU processes left running for %s: %v", dir, n)
			for _, pid := range n {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = os.RemoveAll(dir)
	})
	base := filepath.Join(dir, "base.raw")
	if err := os.WriteFile(base, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	vm := paths.VM{Dir: dir}
	disk, err := b.PrepareDisk(context.Background(), base, vm.Disk(), hypervisor.DiskIsolated)
	if err != nil {
		t.Fatal(err)
	}
	spec := hypervisor.Spec{
		ID: "test-" + filepath.Base(dir), Dir: dir, Kernel: k.Vmlinuz,
		Initrd: writeInitrd(t, dir, init, k), Disk: disk,
		VCPUs: 1, MemoryMiB: 256, Cmdline: "quiet panic=-1", SSHPort: freePort(t),
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpVM(t, vm)
		}
	})
	return spec
}

// dumpVM prints the exact QEMU command line (the VMM log's first line) and
// the tails of the VMM and serial logs.
func dumpVM(t *testing.T, vm paths.VM) {
	t.Helper()
	t.Logf("VMM log %s (first line is the QEMU command line):\n%s", vm.VMMLog(), tail(vm.VMMLog(), 40))
	t.Logf("serial log %s tail:\n%s", vm.SerialLog(), tail(vm.SerialLog(), 40))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// qemuProcsIn lists the PIDs of live processes whose command line mentions
// dir (QEMU names every per-VM path on its command line).
func qemuProcsIn(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cl, []byte("qemu-system")) || !bytes.Contains(cl, []byte(dir+"/")) {
			continue
		}
		if _, err := proc.StartTime(pid); err == nil { // not a zombie
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitSerial waits until the serial log holds marker.
func waitSerial(t *testing.T, spec hypervisor.Spec, marker string) {
	t.Helper()
	log := paths.VM{Dir: spec.Dir}.SerialLog()
	deadline := time.Now().Add(bootTimeout)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(log); bytes.Contains(b, []byte(marker)) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %q on the serial console after %s", marker, bootTimeout)
}

func startVM(t *testing.T, b *Backend, spec hypervisor.Spec) hypervisor.Handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := b.Start(ctx, spec)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Stop(context.Background(), h, 0); err != nil {
			t.Errorf("cleanup stop: %v", err)
		}
	})
	return h
}

// listenersOn returns the hex local addresses of IPv4 TCP sockets
// listening on port (from /proc/net/tcp), and fails on any IPv6 listener.
func listenersOn(t *testing.T, port int) []string {
	t.Helper()
	var addrs []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 4 || f[3] != "0A" {
				continue
			}
			addr, p, ok := strings.Cut(f[1], ":")
			if !ok || p != fmt.Sprintf("%04X", port) {
				continue
			}
			if file == "/proc/net/tcp6" {
				t.Errorf("IPv6 listener %s on port %d", addr, port)
			}
			addrs = append(addrs, addr)
		}
	}
	return addrs
}

// sessionOf reads a process's session ID (field 6 of /proc/PID/stat).
func sessionOf(pid int) (int, error) { return statField(pid, 6) }

// pgrpOf reads a process's process group ID (field 5 of /proc/PID/stat).
func pgrpOf(pid int) (int, error) { return statField(pid, 5) }

// statField reads numeric field n (1-based, n >= 3) of /proc/PID/stat.
func statField(pid, n int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < n-2 {
		return 0, fmt.Errorf("malformed stat %q", s)
	}
	return strconv.Atoi(f[n-3])
}

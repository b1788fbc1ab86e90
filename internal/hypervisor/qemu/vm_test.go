package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/proc"
	"github.com/smolvm/smolvm/internal/testenv"
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

// TestVMLifecycle boots one guest that ignores the power button and checks
// the handle, the real QMP server, the loopback-only SSH forward, the
// refusal of a second QEMU on the same directory, that a handle with a
// reused PID is never signalled, and the bounded stop through QMP quit.
func TestVMLifecycle(t *testing.T) {
	testenv.RequireVM(t)
	b := New(Options{})
	spec := testVM(t, b, initIgnore)
	h := startVM(t, b, spec)
	vm := paths.VM{Dir: spec.Dir}
	accel, _ := b.Accel()
	want := hypervisor.Handle{Backend: "qemu", PID: h.PID, StartTime: h.StartTime, Control: vm.QMP(),
		Transport: hypervisor.Transport{Kind: "tcp", Addr: fmt.Sprintf("127.0.0.1:%d", spec.SSHPort)}, Accel: accel}
	if h != want || h.PID <= 0 || h.StartTime == 0 {
		t.Fatalf("handle %+v, want %+v", h, want)
	}
	if !b.Alive(h) {
		t.Fatal("not alive after start")
	}
	waitSerial(t, spec, markerReady)

	t.Run("real QMP", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q, err := DialQMP(ctx, h.Control)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		if v, err := b.Versions(ctx); err != nil || q.Version != v.QEMU {
			t.Errorf("QMP greeting version %q, qemu --version %q (%v)", q.Version, v.QEMU, err)
		}
		ret, err := q.Execute(ctx, "query-status", nil)
		var st struct{ Status string }
		if err != nil || json.Unmarshal(ret, &st) != nil || st.Status != "running" {
			t.Fatalf("query-status = %s, %v", ret, err)
		}
		var qe *QMPError
		if _, err := q.Execute(ctx, "smolvm-no-such-command", nil); !errors.As(err, &qe) || qe.Class != "CommandNotFound" {
			t.Fatalf("err = %v, want CommandNotFound", err)
		}
	})
	t.Run("pause and resume", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		status := func() string {
			q, err := DialQMP(ctx, h.Control)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			ret, err := q.Execute(ctx, "query-status", nil)
			var st struct{ Status string }
			if err != nil || json.Unmarshal(ret, &st) != nil {
				t.Fatalf("query-status = %s, %v", ret, err)
			}
			return st.Status
		}
		if err := b.Pause(ctx, h); err != nil {
			t.Fatal(err)
		}
		if s := status(); s != "paused" {
			t.Errorf("after Pause: %s", s)
		}
		if err := b.Resume(ctx, h); err != nil {
			t.Fatal(err)
		}
		if s := status(); s != "running" {
			t.Errorf("after Resume: %s", s)
		}
		stale := h
		stale.StartTime++
		if err := b.Pause(ctx, stale); !errors.Is(err, proc.ErrGone) {
			t.Errorf("Pause of a stale handle: %v, want ErrGone", err)
		}
	})
	t.Run("ssh forward on loopback only", func(t *testing.T) {
		for _, addr := range listenersOn(t, spec.SSHPort) {
			if addr != "0100007F" {
				t.Errorf("port %d listens on %s, want 127.0.0.1 only", spec.SSHPort, addr)
			}
		}
		if n := len(listenersOn(t, spec.SSHPort)); n == 0 {
			t.Errorf("nothing listens on port %d", spec.SSHPort)
		}
	})
	t.Run("second start on the same dir refused", func(t *testing.T) {
		_, err := b.Start(context.Background(), spec)
		if !errors.Is(err, ErrAlreadyRunning) {
			t.Fatalf("err = %v, want ErrAlreadyRunning", err)
		}
		if !b.Alive(h) {
			t.Fatal("first VM died")
		}
	})
	t.Run("reused PID never signalled", func(t *testing.T) {
		other := h
		other.StartTime++
		if b.Alive(other) {
			t.Fatal("Alive true for a wrong start time")
		}
		if err := b.Stop(context.Background(), other, time.Second); err != nil {
			t.Fatalf("stop of a stale handle: %v", err)
		}
		if !b.Alive(h) {
			t.Fatal("the real QEMU was stopped through a stale handle")
		}
	})
	how, err := b.stop(context.Background(), h, time.Second)
	if err != nil || how != stoppedQuit {
		t.Fatalf("stop = %q, %v; want %q (the guest ignores the power button)", how, err, stoppedQuit)
	}
	if b.Alive(h) || len(qemuProcsIn(spec.Dir)) != 0 {
		t.Fatal("QEMU still running after stop")
	}
	if _, err := os.Lstat(vm.QMP()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("QMP socket left: %v", err)
	}
	if err := b.Stop(context.Background(), h, time.Second); err != nil {
		t.Fatalf("second stop: %v", err)
	}
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

// TestVMGracefulPowerdown boots a guest that powers off when its ACPI
// power button is pressed: Stop must end it through system_powerdown.
func TestVMGracefulPowerdown(t *testing.T) {
	testenv.RequireVM(t)
	b := New(Options{})
	spec := testVM(t, b, initPowerdown)
	h := startVM(t, b, spec)
	waitSerial(t, spec, markerReady)
	how, err := b.stop(context.Background(), h, bootTimeout)
	if err != nil || how != stoppedPowerdown {
		t.Fatalf("stop = %q, %v; want %q", how, err, stoppedPowerdown)
	}
	serial, _ := os.ReadFile(paths.VM{Dir: spec.Dir}.SerialLog())
	if !bytes.Contains(serial, []byte(markerPowerdown)) {
		t.Errorf("the guest did not see the power button")
	}
	if b.Alive(h) {
		t.Fatal("alive after stop")
	}
}

// TestVMStartFailures checks that failed starts say why and leave nothing
// running: a kernel QEMU cannot load, and a start timeout.
func TestVMStartFailures(t *testing.T) {
	testenv.RequireVM(t)
	t.Run("garbage kernel", func(t *testing.T) {
		b := New(Options{})
		spec := testVM(t, b, initIgnore)
		spec.Kernel = filepath.Join(spec.Dir, "garbage")
		if err := os.WriteFile(spec.Kernel, []byte("this is not a kernel\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := b.Start(context.Background(), spec)
		if !errors.Is(err, ErrExited) {
			t.Fatalf("err = %v, want ErrExited", err)
		}
		vm := paths.VM{Dir: spec.Dir}
		vmmLog, _ := os.ReadFile(vm.VMMLog())
		lines := strings.Split(strings.TrimSpace(string(vmmLog)), "\n")
		if len(lines) < 2 {
			t.Fatalf("VMM log holds no QEMU message:\n%s", vmmLog)
		}
		// The command line and QEMU's own last words, and where the console went.
		for _, want := range []string{"smolvm: exec ", lines[len(lines)-1], vm.SerialLog()} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		t.Logf("early-exit error:\n%v", err)
		if n := qemuProcsIn(spec.Dir); len(n) != 0 {
			t.Errorf("left running: %v", n)
		}
	})
	t.Run("start timeout kills", func(t *testing.T) {
		b := New(Options{StartTimeout: time.Nanosecond})
		spec := testVM(t, b, initIgnore)
		_, err := b.Start(context.Background(), spec)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		if n := qemuProcsIn(spec.Dir); len(n) != 0 {
			t.Errorf("left running: %v", n)
		}
		if _, err := os.Lstat(paths.VM{Dir: spec.Dir}.QMP()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("QMP socket left: %v", err)
		}
	})
	t.Run("missing kernel", func(t *testing.T) {
		b := New(Options{})
		spec := testVM(t, b, initIgnore)
		spec.Kernel = filepath.Join(spec.Dir, "nope")
		if _, err := b.Start(context.Background(), spec); !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "Kernel") {
			t.Fatalf("err = %v, want ErrInvalidSpec naming Kernel", err)
		}
	})
}

// startChild re-executes the test binary to start spec's VM and returns
// the child and the handle it printed.
func startChild(t *testing.T, spec hypervisor.Spec) (*exec.Cmd, hypervisor.Handle) {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=start", childSpecEnv+"="+string(js))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	var h hypervisor.Handle
	if err != nil || json.Unmarshal(line, &h) != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child printed %q (%v); stderr:\n%s", line, err, stderr.String())
	}
	return cmd, h
}

// TestVMPdeathsig: a non-detached VM dies with the process that started it.
func TestVMPdeathsig(t *testing.T) {
	testenv.RequireVM(t)
	b := New(Options{})
	spec := testVM(t, b, initIgnore)
	child, h := startChild(t, spec)
	t.Cleanup(func() { _ = b.Stop(context.Background(), h, 0) })
	if !b.Alive(h) {
		t.Fatal("VM not alive after the child's start")
	}
	if pg, err := pgrpOf(h.PID); err != nil || pg != h.PID {
		t.Errorf("QEMU process group %d (%v), want its own (%d)", pg, err, h.PID)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := (proc.ID{PID: h.PID, StartTime: h.StartTime}).WaitGone(ctx); err != nil {
		t.Fatalf("QEMU survived its starter's SIGKILL: %v", err)
	}
}

// TestVMDetach: a detached VM outlives the process that started it, in
// its own session; then a hung QEMU (SIGSTOPped, QMP silent) is still
// stopped, through SIGKILL.
func TestVMDetach(t *testing.T) {
	testenv.RequireVM(t)
	b := New(Options{})
	spec := testVM(t, b, initIgnore)
	spec.Detach = true
	child, h := startChild(t, spec)
	t.Cleanup(func() { _ = b.Stop(context.Background(), h, 0) })
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // give a wrongly tied VM time to die
	if !b.Alive(h) {
		t.Fatal("detached QEMU died with its starter")
	}
	if sid, err := sessionOf(h.PID); err != nil || sid != h.PID {
		t.Errorf("QEMU session id %d (%v), want its own (%d)", sid, err, h.PID)
	}
	id := proc.ID{PID: h.PID, StartTime: h.StartTime}
	if err := id.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	how, err := b.stop(context.Background(), h, time.Second)
	if err != nil || how != stoppedKill {
		t.Fatalf("stop = %q, %v; want %q", how, err, stoppedKill)
	}
	if b.Alive(h) {
		t.Fatal("alive after stop")
	}
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

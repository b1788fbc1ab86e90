package firecracker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/firecracker/api"
	"github.com/smolvm/smolvm/internal/firecracker/fctest"
	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/kernel"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/proc"
	"github.com/smolvm/smolvm/internal/vsock"
)

// fixture is one VM directory with a kernel, a base disk and the fake's
// environment set.
type fixture struct {
	t     *testing.T
	dir   string
	spec  hypervisor.Spec
	calls string
	pid   string
	b     *Backend
}

func newFixture(t *testing.T, mode string) *fixture {
	t.Helper()
	specPath := fctest.SpecForTest(t).Path
	dir, err := os.MkdirTemp("", "fcb") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	f := &fixture{t: t, dir: dir, calls: filepath.Join(dir, "calls.json"), pid: filepath.Join(dir, "fake.pid")}
	t.Setenv(fakeEnv, "1")
	t.Setenv("SMOLVM_FAKE_FC_SPEC", specPath)
	t.Setenv("SMOLVM_FAKE_FC_CALLS", f.calls)
	t.Setenv("SMOLVM_FAKE_FC_PID", f.pid)
	t.Setenv("SMOLVM_FAKE_FC_MODE", mode)
	base := filepath.Join(dir, "base.img")
	if err := os.WriteFile(base, bytes.Repeat([]byte("rootfs"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	vmDir := filepath.Join(dir, "vm")
	if err := os.Mkdir(vmDir, 0o700); err != nil {
		t.Fatal(err)
	}
	f.b = New(Options{Firecracker: os.Args[0], SocketTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	disk, err := f.b.PrepareDisk(context.Background(), base, paths.VM{Dir: vmDir}.Disk(), hypervisor.DiskIsolated)
	if err != nil {
		t.Fatal(err)
	}
	f.spec = hypervisor.Spec{ID: "vm-1", Dir: vmDir, Kernel: vmlinux(t, dir), Disk: disk, VCPUs: 2, MemoryMiB: 256,
		Cmdline: "root=/dev/vda rw smolvm.vsock=22"}
	return f
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// recorded returns the fake's calls except GET / polls.
func (f *fixture) recorded() []fctest.Call {
	f.t.Helper()
	b, err := os.ReadFile(f.calls)
	if err != nil {
		f.t.Fatal(err)
	}
	var all, out []fctest.Call
	if err := json.Unmarshal(b, &all); err != nil {
		f.t.Fatal(err)
	}
	for _, c := range all {
		if c.Method == "GET" && c.Path == "/" {
			continue
		}
		out = append(out, c)
	}
	return out
}

func (f *fixture) fakeID() proc.ID {
	f.t.Helper()
	b, err := os.ReadFile(f.pid)
	if err != nil {
		f.t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	return proc.ID{PID: pid}
}

func names(cs []fctest.Call) []string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return s
}

func TestLifecycle(t *testing.T) {
	for _, tap := range []bool{false, true} {
		name := "vsock-only"
		if tap {
			name = "tap"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "")
			if tap {
				f.spec.Network, f.spec.TAP, f.spec.GuestMAC = "tap", "smv-tap0", "06:00:ac:1e:00:06"
			}
			ctx := context.Background()
			h, err := f.b.Start(ctx, f.spec)
			if err != nil {
				t.Fatal(err)
			}
			vm := paths.VM{Dir: f.spec.Dir}
			want := hypervisor.Transport{Kind: "vsock", Path: vm.Vsock(), Port: 22}
			if h.Transport != want || h.Control != vm.API() || h.Backend != "firecracker" || !f.b.Alive(h) {
				t.Fatalf("handle %+v", h)
			}
			// The transport carries a stream end to end.
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn, err := vsock.Dial(dctx, h.Transport.Path, h.Transport.Port)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			_, _ = conn.Write([]byte("ping"))
			got := make([]byte, 4)
			if _, err := io.ReadFull(conn, got); err != nil || string(got) != "ping" {
				t.Fatalf("echo %q %v", got, err)
			}
			_ = conn.Close()

			c := api.New(h.Control)
			if err := f.b.Pause(ctx, h); err != nil {
				t.Fatal(err)
			}
			if info, _ := c.Info(ctx); info.State != "Paused" {
				t.Fatalf("state %q after Pause", info.State)
			}
			if err := f.b.Resume(ctx, h); err != nil {
				t.Fatal(err)
			}
			snap := SnapshotFiles{State: filepath.Join(f.dir, "snap.state"), Memory: filepath.Join(f.dir, "snap.mem")}
			if err := f.b.Snapshot(ctx, h, snap); err != nil {
				t.Fatal(err)
			}
			if info, _ := c.Info(ctx); info.State != "Running" {
				t.Fatalf("state %q after Snapshot", info.State)
			}
			id := proc.ID{PID: h.PID, StartTime: h.StartTime}
			if err := f.b.Stop(ctx, h, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if id.Alive() || f.b.Alive(h) {
				t.Fatal("process alive after Stop")
			}
			for _, p := range []string{vm.API(), vm.Vsock()} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s left behind: %v", p, err)
				}
			}
			if err := f.b.Stop(ctx, h, time.Second); err != nil {
				t.Fatalf("second Stop: %v", err)
			}
			order := []string{"PUT /boot-source", "PUT /machine-config", "PUT /drives/rootfs"}
			if tap {
				order = append(order, "PUT /network-interfaces/eth0")
			}
			order = append(order, "PUT /vsock", "PUT /actions", "PATCH /vm", "PATCH /vm",
				"PATCH /vm", "PUT /snapshot/create", "PATCH /vm", "PUT /actions")
			calls := f.recorded()
			if strings.Join(names(calls), ",") != strings.Join(order, ",") {
				t.Fatalf("calls:\n%v\nwant:\n%v", names(calls), order)
			}
			for _, c := range calls {
				if c.Status >= 400 {
					t.Fatalf("%s refused: %d", c, c.Status)
				}
			}
			var boot api.BootSource
			_ = json.Unmarshal(calls[0].Body, &boot)
			if boot.KernelImagePath != f.spec.Kernel || boot.BootArgs != "root=/dev/vda rw smolvm.vsock=22 console=ttyS0 reboot=k panic=1" {
				t.Fatalf("boot-source %+v", boot)
			}
			if !bytes.Contains(calls[len(calls)-1].Body, []byte("SendCtrlAltDel")) {
				t.Fatalf("last call %s", calls[len(calls)-1].Body)
			}

			// Load the snapshot into a new VMM in another directory.
			f.spec.Dir = filepath.Join(f.dir, "vm2")
			if err := os.Mkdir(f.spec.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			h2, err := f.b.Load(ctx, f.spec, snap)
			if err != nil {
				t.Fatal(err)
			}
			conn, err = vsock.Dial(ctx, h2.Transport.Path, 22)
			if err != nil {
				t.Fatalf("vsock after load: %v", err)
			}
			_ = conn.Close()
			if err := f.b.Stop(ctx, h2, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			calls = f.recorded()
			var load api.SnapshotLoad
			_ = json.Unmarshal(calls[0].Body, &load)
			if calls[0].String() != "PUT /snapshot/load" || load.VsockOverride == nil ||
				load.VsockOverride.UDSPath != (paths.VM{Dir: f.spec.Dir}).Vsock() || !load.ResumeVM ||
				(tap && (len(load.NetworkOverrides) != 1 || load.NetworkOverrides[0].HostDevName != "smv-tap0")) {
				t.Fatalf("load calls %v %s", names(calls), calls[0].Body)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	cases := []struct {
		name    string
		mode    string
		fault   string
		timeout time.Duration
		check   func(t *testing.T, err error)
	}{
		{"fault surfaces status and message", "fault", "PUT /machine-config 400 Invalid vCPU count: must be 1 or even", 0,
			func(t *testing.T, err error) {
				var fe *api.FaultError
				if !errors.As(err, &fe) || fe.StatusCode != 400 || fe.FaultMessage != "Invalid vCPU count: must be 1 or even" {
					t.Fatalf("got %v", err)
				}
				if !strings.Contains(err.Error(), "machine-config") {
					t.Fatalf("error does not name the step: %v", err)
				}
			}},
		{"socket never appears", "nosocket", "", 300 * time.Millisecond,
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrSocketTimeout) {
					t.Fatalf("got %v", err)
				}
			}},
		{"process exits early", "exit", "", 0,
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "cannot open kernel image: Permission denied") ||
					!strings.Contains(err.Error(), "fatal error, exiting") {
					t.Fatalf("want ErrExited with both log tails, got %v", err)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.mode)
			t.Setenv("SMOLVM_FAKE_FC_FAULT", c.fault)
			if c.timeout > 0 {
				f.b.socketTimeout = c.timeout
			}
			_, err := f.b.Start(context.Background(), f.spec)
			if err == nil {
				t.Fatal("Start succeeded")
			}
			c.check(t, err)
			if _, serr := proc.StartTime(f.fakeID().PID); serr == nil {
				t.Fatalf("fake firecracker pid %d still running after a failed Start", f.fakeID().PID)
			}
			vm := paths.VM{Dir: f.spec.Dir}
			if _, err := os.Stat(vm.API()); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("API socket left: %v", err)
			}
		})
	}
}

func TestStopKillsWhenGuestIgnoresCtrlAltDel(t *testing.T) {
	f := newFixture(t, "ignore-cad")
	h, err := f.b.Start(context.Background(), f.spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.b.Stop(context.Background(), h, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if f.b.Alive(h) {
		t.Fatal("alive after Stop")
	}
	calls := f.recorded()
	if last := calls[len(calls)-1]; last.String() != "PUT /actions" || !bytes.Contains(last.Body, []byte("SendCtrlAltDel")) {
		t.Fatalf("ctrl-alt-del not tried first: %v", names(calls))
	}
}

func TestStopNeverSignalsAReusedPID(t *testing.T) {
	b := New(Options{})
	// Our own PID with a wrong start time stands for a reused PID.
	h := hypervisor.Handle{PID: os.Getpid(), StartTime: 1}
	if err := b.Stop(context.Background(), h, time.Second); err != nil {
		t.Fatal(err)
	}
	if b.Alive(h) {
		t.Fatal("a different start time must not be alive")
	}
}

func TestStartRefusesAlreadyRunning(t *testing.T) {
	f := newFixture(t, "")
	h, err := f.b.Start(context.Background(), f.spec)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.b.Stop(context.Background(), h, 5*time.Second) }()
	if _, err := f.b.Start(context.Background(), f.spec); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("got %v", err)
	}
	if !f.b.Alive(h) {
		t.Fatal("first VM died")
	}
}

func TestStartValidation(t *testing.T) {
	f := newFixture(t, "")
	bz := filepath.Join(f.dir, "bzImage")
	img := make([]byte, 0x400)
	copy(img[0x202:], "HdrS")
	if err := os.WriteFile(bz, img, 0o600); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(f.dir, strings.Repeat("d", 120))
	cases := []struct {
		name   string
		mut    func(s *hypervisor.Spec)
		want   error
		substr string
	}{
		{"bzImage kernel", func(s *hypervisor.Spec) { s.Kernel = bz }, kernel.ErrNotELF, "ELF vmlinux"},
		{"missing disk", func(s *hypervisor.Spec) { s.Disk = filepath.Join(f.dir, "none") }, ErrInvalidSpec, "Disk"},
		{"zero vcpus", func(s *hypervisor.Spec) { s.VCPUs = 0 }, ErrInvalidSpec, "VCPUs"},
		{"too many vcpus", func(s *hypervisor.Spec) { s.VCPUs = 33 }, ErrInvalidSpec, "VCPUs"},
		{"no memory", func(s *hypervisor.Spec) { s.MemoryMiB = 0 }, ErrInvalidSpec, "MemoryMiB"},
		{"tap without device", func(s *hypervisor.Spec) { s.Network = "tap" }, ErrInvalidSpec, "TAP"},
		{"unknown network", func(s *hypervisor.Spec) { s.Network = "bridge" }, ErrInvalidSpec, "Network"},
		{"socket path too long", func(s *hypervisor.Spec) { s.Dir = long }, paths.ErrSocketPathTooLong, "limit"},
		{"empty id", func(s *hypervisor.Spec) { s.ID = "" }, ErrInvalidSpec, "ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := f.spec
			c.mut(&s)
			_, err := f.b.Start(context.Background(), s)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.substr) {
				t.Fatalf("got %v, want %v containing %q", err, c.want, c.substr)
			}
		})
	}
	if _, err := os.Stat(f.pid); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a process was started for an invalid spec")
	}
}

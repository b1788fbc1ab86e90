package qemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/proc"
	"github.com/smolvm/smolvm/internal/testenv"
)

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

package qemu

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/proc"
)

// startSleeper runs a real process standing in for QEMU (it ignores QMP
// and never exits on its own) and reaps it when it dies.
func startSleeper(t *testing.T) proc.ID {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	id, err := proc.Of(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestStopSequence drives Stop's steps against the strict fake QMP peer
// and a real process that survives powerdown and quit, so every step runs
// in order and the process is finally killed and verified gone.
func TestStopSequence(t *testing.T) {
	f := newFakeQMP(t, map[string]string{"system_powerdown": `"return": {}`, "quit": `"return": {}`})
	id := startSleeper(t)
	b := New(Options{})
	b.quitWait = 100 * time.Millisecond
	h := hypervisor.Handle{Backend: Name, PID: id.PID, StartTime: id.StartTime, Control: f.path}
	how, err := b.stop(context.Background(), h, 100*time.Millisecond)
	if err != nil || how != stoppedKill {
		t.Fatalf("stop = %q, %v; want %q", how, err, stoppedKill)
	}
	if id.Alive() || b.Alive(h) {
		t.Fatal("process still alive after stop")
	}
	want := "qmp_capabilities,system_powerdown,qmp_capabilities,quit"
	if got := strings.Join(f.commands(), ","); got != want {
		t.Errorf("QMP commands %s, want %s", got, want)
	}
	// Idempotent: the dead handle stops without touching QMP again.
	if err := b.Stop(context.Background(), h, time.Second); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if got := len(f.commands()); got != 4 {
		t.Errorf("second stop sent QMP commands (%d in all)", got)
	}
}

// TestStopReusedPID checks a handle whose start time does not match the
// PID's process is treated as gone: nothing is signalled, no QMP is sent.
func TestStopReusedPID(t *testing.T) {
	f := newFakeQMP(t, map[string]string{"system_powerdown": `"return": {}`, "quit": `"return": {}`})
	id := startSleeper(t)
	b := New(Options{})
	h := hypervisor.Handle{Backend: Name, PID: id.PID, StartTime: id.StartTime + 1, Control: f.path}
	if b.Alive(h) {
		t.Fatal("Alive true for a wrong start time")
	}
	how, err := b.stop(context.Background(), h, time.Second)
	if err != nil || how != stoppedAlready {
		t.Fatalf("stop = %q, %v; want %q", how, err, stoppedAlready)
	}
	if !id.Alive() {
		t.Fatal("the process owning the PID was killed")
	}
	if got := f.commands(); len(got) != 0 {
		t.Errorf("QMP commands sent: %v", got)
	}
}

// TestStopCancelledContextStillStops checks a cancelled caller skips the
// graceful wait but still quits and kills.
func TestStopCancelledContextStillStops(t *testing.T) {
	f := newFakeQMP(t, map[string]string{"quit": `"return": {}`})
	id := startSleeper(t)
	b := New(Options{})
	b.quitWait = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := hypervisor.Handle{Backend: Name, PID: id.PID, StartTime: id.StartTime, Control: f.path}
	how, err := b.stop(ctx, h, time.Hour)
	if err != nil || how != stoppedKill || id.Alive() {
		t.Fatalf("stop = %q, %v, alive %v", how, err, id.Alive())
	}
	if got := strings.Join(f.commands(), ","); got != "qmp_capabilities,quit" {
		t.Errorf("QMP commands %s", got)
	}
}

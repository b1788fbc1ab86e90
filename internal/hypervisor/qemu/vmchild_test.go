package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
	"github.com/smolvm/smolvm/internal/proc"
	"github.com/smolvm/smolvm/internal/testenv"
)

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

package proc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestIdentity(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	id, err := Of(cmd.Process.Pid)
	if err != nil || !id.Alive() {
		t.Fatalf("Of(child) = %+v, %v", id, err)
	}
	// A PID whose start time differs is another process: never signalled.
	other := ID{PID: id.PID, StartTime: id.StartTime + 1}
	if other.Alive() {
		t.Error("a wrong start time counts as alive")
	}
	if err := other.Signal(syscall.SIGKILL); !errors.Is(err, ErrGone) {
		t.Errorf("Signal with a wrong start time = %v, want ErrGone", err)
	}
	time.Sleep(50 * time.Millisecond)
	if !id.Alive() {
		t.Fatal("the child died from a signal meant for another process")
	}
	if err := id.Kill(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if id.Alive() {
		t.Error("alive after Kill")
	}
	if err := id.Signal(syscall.SIGTERM); !errors.Is(err, ErrGone) {
		t.Errorf("Signal after death = %v, want ErrGone", err)
	}
}

func TestStartTimeErrors(t *testing.T) {
	for _, pid := range []int{0, -1, 1 << 30} {
		if _, err := StartTime(pid); !errors.Is(err, ErrGone) {
			t.Errorf("StartTime(%d) = %v, want ErrGone", pid, err)
		}
	}
	if _, err := StartTime(os.Getpid()); err != nil {
		t.Errorf("StartTime(self) = %v", err)
	}
}

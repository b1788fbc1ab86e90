package guest

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/testenv"
)

const pid1HelperEnv = "SMOLVM_GUEST_PID1_HELPER"

func TestMain(m *testing.M) {
	if bb := os.Getenv(pid1HelperEnv); bb != "" {
		os.Exit(busyboxAsPID1(bb))
	}
	os.Exit(m.Run())
}

// TestBusyboxShutdownSignals runs the host's busybox halt, poweroff and
// reboot with this test binary as PID 1 of a fresh PID namespace, and
// checks each one sends a signal the agent treats as shutdown, with the
// meaning signalReason gives it.
func TestBusyboxShutdownSignals(t *testing.T) {
	bb := testenv.RequireTool(t, "busybox")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), pid1HelperEnv+"="+bb)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(err.Error(), "operation not permitted") {
		t.Skipf("no PID namespace here: %v", err)
	}
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	want := "halt: SIGUSR1 (halt)\npoweroff: SIGUSR2 (poweroff)\nreboot: SIGTERM (reboot or kill)\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

func busyboxAsPID1(bb string) int {
	if os.Getpid() != 1 {
		fmt.Println("helper is not PID 1")
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, shutdownSignals...)
	for _, applet := range []string{"halt", "poweroff", "reboot"} {
		c := exec.Command(bb, applet)
		if out, err := c.CombinedOutput(); err != nil {
			fmt.Printf("%s: %v %s\n", applet, err, out)
			return 1
		}
		select {
		case s := <-sigs:
			fmt.Printf("%s: %s\n", applet, signalReason(s))
		case <-time.After(10 * time.Second):
			fmt.Printf("%s: no signal\n", applet)
		}
	}
	return 0
}

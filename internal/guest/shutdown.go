package guest

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/guest/reaper"
)

// shutdownSignals power the VM off. busybox's halt, poweroff and reboot
// signal PID 1 with SIGUSR1, SIGUSR2 and SIGTERM (init/halt.c; checked
// against the real binary by TestBusyboxShutdownSignals); the
// kernel sends SIGINT for ctrl-alt-del once CAD is off; SIGPWR is the
// classic power-failure signal. All of them power off: the host decides
// whether a VM starts again.
var shutdownSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPWR}

// signalReason names why a signal reached PID 1.
func signalReason(s os.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM (reboot or kill)"
	case syscall.SIGINT:
		return "SIGINT (ctrl-alt-del)"
	case syscall.SIGUSR1:
		return "SIGUSR1 (halt)"
	case syscall.SIGUSR2:
		return "SIGUSR2 (poweroff)"
	case syscall.SIGPWR:
		return "SIGPWR"
	}
	return fmt.Sprint(s)
}

// Grace periods for stopping every process at shutdown.
const (
	termGrace = 5 * time.Second
	killGrace = 2 * time.Second
)

// stopAll sends SIGTERM to every process but PID 1, waits up to termGrace
// for all of them to be reaped, then SIGKILLs what is left.
func stopAll(log *slog.Logger, r *reaper.Reaper) {
	if !reaper.HasChildren() {
		return
	}
	_ = unix.Kill(-1, unix.SIGTERM)
	if waitNoChildren(r, termGrace) {
		return
	}
	log.Warn("processes survived SIGTERM; sending SIGKILL")
	_ = unix.Kill(-1, unix.SIGKILL)
	if !waitNoChildren(r, killGrace) {
		log.Warn("processes survived SIGKILL (stuck in the kernel?)")
	}
}

func waitNoChildren(r *reaper.Reaper, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for reaper.HasChildren() {
		if time.Now().After(deadline) {
			return false
		}
		r.Kick()
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// powerOff syncs, remounts / read-only and powers the machine off. It
// returns only if the kernel refused.
func powerOff(out *consoleOut) error {
	unix.Sync()
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		out.phase("remount-ro", "failed: "+err.Error())
	}
	unix.Sync()
	out.phase("power-off", "now")
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		return fmt.Errorf("power off: %w", err)
	}
	return nil
}

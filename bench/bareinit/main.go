// Command bareinit is the benchmark's baseline /init: it prints one
// console milestone line (time since kernel start, the format smolvm's
// agent uses) and powers the machine off at once. Booting it measures a
// bare kernel boot under the same hypervisor settings as a smolvm VM.
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

const clockBoottime = 7

func main() {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockBoottime, uintptr(unsafe.Pointer(&ts)), 0)
	if errno == 0 {
		d := time.Duration(ts.Nano())
		// Same line as internal/console.FormatMilestone(AgentStart, d).
		fmt.Fprintf(os.Stdout, "smolvm-agent: milestone agent-start %.6f\n", d.Seconds())
	}
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	// The kernel panics if PID 1 exits; a failed power-off must not hide.
	fmt.Fprintln(os.Stderr, "bareinit: power off failed")
	select {}
}

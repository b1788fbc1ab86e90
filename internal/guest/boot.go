package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/console"
	"github.com/smolvm/smolvm/internal/guest/cmdline"
	"github.com/smolvm/smolvm/internal/guest/reaper"
)

// agent is the state of one boot.
type agent struct {
	out *consoleOut
	log *slog.Logger
	r   *reaper.Reaper
}

// boot runs PID 1's life: the boot phases, then waiting for a shutdown
// signal. Phases named in docs/agent.md; a fatal one prints its reason
// and powers off, so a broken boot never hangs and never ends in a kernel
// panic without saying why.
func boot(console0 io.Writer) (err error) {
	out := &consoleOut{w: console0}
	out.milestone(console.AgentStart)
	a := &agent{out: out, log: slog.New(&logHandler{out: out, level: slog.LevelInfo})}
	defer func() {
		if p := recover(); p != nil {
			err = a.fatal("panic", fmt.Errorf("%v\n%s", p, debug.Stack()))
		}
	}()
	// Signals first, so a shutdown request during boot is not lost; the
	// kernel then sends SIGINT for ctrl-alt-del instead of rebooting.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, shutdownSignals...)
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)

	for _, m := range earlyMounts {
		if err := mount(m); err != nil {
			return a.fatal("early-mounts", err)
		}
	}
	ensureConsoleFDs()
	out.phase("early-mounts", "ok")

	raw, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return a.fatal("cmdline", err)
	}
	b, errs := cmdline.Parse(strings.TrimSpace(string(raw)))
	if v, _ := cmdline.Lookup(b.Params, "smolvm.debug"); v == "1" {
		a.log = slog.New(&logHandler{out: out, level: slog.LevelDebug})
	}
	for _, e := range errs {
		a.log.Error("kernel command line", "err", e)
	}
	a.r = reaper.New(a.log)
	go a.r.Run(context.Background())

	n, merrs := loadModules(a.log, b.Params)
	out.phase("modules", fmt.Sprintf("%d loaded, %d failed", n, len(merrs)))
	out.milestone(console.ModulesLoaded)

	if inInitramfs() {
		if err := waitForBlockDevice(a.log, b.Root, b.RootWait); err != nil {
			return a.fatal("root-wait", err)
		}
		if err := mountRoot(b); err != nil {
			return a.fatal("root-mount", err)
		}
		if err := switchRoot(a.log); err != nil {
			return a.fatal("switch-root", err)
		}
		out.phase("switch-root", b.Root+" is /")
	} else if err := remountRW(b); err != nil {
		a.log.Warn("root", "err", err)
	}
	out.milestone(console.RootMounted)

	for _, m := range lateMounts {
		if err := mount(m); err != nil {
			a.log.Error("late mount", "err", err)
		}
	}
	makeDevLinks()
	if err := setHostname(b.Hostname); err != nil {
		a.log.Error("hostname", "err", err)
	}
	press := make(chan struct{}, 1)
	watchPowerButton(a.log, func() {
		select {
		case press <- struct{}{}:
		default:
		}
	})

	if up, err := setupNetwork(a.log, b); err != nil {
		a.log.Error("network", "err", err)
		out.phase("network", "failed: "+err.Error())
	} else if up {
		out.phase("network", "ok")
	}
	out.milestone(console.NetworkUp)

	ctx, stopSSH := context.WithCancel(context.Background())
	if err := startSSH(ctx, out, a.log, b, a.r); err != nil {
		stopSSH()
		return a.fatal("ssh", err)
	}
	out.milestone(console.SSHListening)

	var reason string
	select {
	case s := <-sigs:
		reason = signalReason(s)
	case <-press:
		reason = "ACPI power button"
	}
	out.phase("shutdown", reason)
	// SIGTERM first, SSH sessions' commands included (their clients see
	// exit-signal TERM); then close the listeners and connections.
	stopAll(a.log, a.r)
	stopSSH()
	return powerOff(out)
}

// fatal reports a failed phase on the console and powers off. It returns
// only if powering off failed (then the kernel panics when PID 1 exits,
// after the reason is on the console).
func (a *agent) fatal(phase string, err error) error {
	a.out.phase(phase, "FATAL: "+err.Error())
	_, _ = fmt.Fprintf(a.out, "%sboot failed in phase %s; powering off\n", console.Prefix, phase)
	if a.r != nil {
		stopAll(a.log, a.r)
	}
	if perr := powerOff(a.out); perr != nil {
		return errors.Join(fmt.Errorf("phase %s: %w", phase, err), perr)
	}
	// reboot(2) does not return on success; be explicit anyway.
	select {}
}

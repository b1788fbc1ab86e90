package guest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/console"
)

// sinceBoot is CLOCK_BOOTTIME: time since the kernel started, suspend
// included, the clock the console milestones use.
func sinceBoot() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// consoleOut serialises whole-line writes to the console, so agent lines
// never interleave with each other (the kernel's may still cut in).
type consoleOut struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *consoleOut) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.Write(p)
}

// milestone prints a console.FormatMilestone line.
func (c *consoleOut) milestone(name string) {
	_, _ = io.WriteString(c, console.FormatMilestone(name, sinceBoot()))
}

// phase prints the start or outcome of a boot phase:
//
//	smolvm-agent: [   1.234567] phase root-mount: ok
func (c *consoleOut) phase(name, outcome string) {
	_, _ = fmt.Fprintf(c, "%s[%12.6f] phase %s: %s\n", console.Prefix, sinceBoot().Seconds(), name, outcome)
}

// logHandler writes slog records as one console line each, stamped with
// the time since boot.
type logHandler struct {
	out   *consoleOut
	level slog.Level
	attrs []slog.Attr
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	line := fmt.Sprintf("%s[%12.6f] %s %s", console.Prefix, sinceBoot().Seconds(), r.Level, r.Message)
	add := func(a slog.Attr) bool {
		line += fmt.Sprintf(" %s=%q", a.Key, a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	_, err := io.WriteString(h.out, line+"\n")
	return err
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &n
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

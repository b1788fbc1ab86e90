package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm/internal/console"
)

// boottime is the host's CLOCK_BOOTTIME, the clock /proc/PID/stat start
// times count on.
func boottime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// procStart returns when process pid started, on the CLOCK_BOOTTIME scale
// (10 ms resolution: /proc counts clock ticks).
func procStart(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseStatStart(string(b))
}

// parseStatStart reads field 22 (starttime, clock ticks) of a
// /proc/PID/stat line; the command name (field 2) may hold spaces.
func parseStatStart(stat string) (time.Duration, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 20 {
		return 0, false
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, false
	}
	const clkTck = 100 // USER_HZ on every Linux the harness targets
	return time.Duration(ticks) * time.Second / clkTck, true
}

// serialWatch follows one `smolvm run`'s VM directory under dataDir
// while it runs: it keeps the serial log open (the CLI deletes the VM
// directory at exit; the open file stays readable), notes when each
// console line first appears on the host clock, and reads the QEMU PID.
type serialWatch struct {
	vmsDir string

	mu       sync.Mutex
	file     *os.File
	buf      []byte
	seen     map[string]time.Duration // milestone or "shutdown" -> host boottime when seen
	qemuPID  int
	stop     chan struct{}
	finished chan struct{}
}

func newSerialWatch(dataDir string) *serialWatch {
	w := &serialWatch{vmsDir: filepath.Join(dataDir, "vms"), seen: map[string]time.Duration{},
		stop: make(chan struct{}), finished: make(chan struct{})}
	go w.loop()
	return w
}

func (w *serialWatch) loop() {
	defer close(w.finished)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		w.poll()
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

func (w *serialWatch) poll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	dirs, _ := filepath.Glob(filepath.Join(w.vmsDir, "*"))
	for _, d := range dirs {
		p := filepath.Join(d, "serial.log")
		if st, err := os.Stat(p); err == nil {
			var cur os.FileInfo
			if w.file != nil {
				cur, _ = w.file.Stat()
			}
			if cur == nil || !os.SameFile(cur, st) {
				if f, err := os.Open(p); err == nil {
					if w.file != nil {
						_ = w.file.Close()
					}
					w.file, w.buf = f, nil
				}
			}
		}
		if w.qemuPID == 0 {
			if b, err := os.ReadFile(filepath.Join(d, "vmm.pid")); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
					w.qemuPID = pid
					if st, ok := procStart(pid); ok {
						w.seen["qemu-start"] = st
					}
				}
			}
		}
	}
	w.readMore()
}

// readMore reads what the serial log gained and stamps new lines.
func (w *serialWatch) readMore() {
	if w.file == nil {
		return
	}
	chunk := make([]byte, 64*1024)
	for {
		n, _ := w.file.Read(chunk)
		if n <= 0 {
			break
		}
		w.buf = append(w.buf, chunk[:n]...)
	}
	now := boottime()
	for _, line := range bytes.Split(w.buf, []byte("\n")) {
		if name := lineEvent(string(line)); name != "" {
			if _, ok := w.seen[name]; !ok {
				w.seen[name] = now
			}
		}
	}
}

// lineEvent names the console line: a milestone's name, "shutdown" for the
// agent's shutdown phase line, or "" for anything else.
func lineEvent(line string) string {
	i := strings.Index(line, console.Prefix)
	if i < 0 {
		return ""
	}
	rest := line[i+len(console.Prefix):]
	if f := strings.Fields(rest); len(f) == 3 && f[0] == "milestone" {
		return f[1]
	}
	if _, ok := shutdownStamp(line); ok {
		return "shutdown"
	}
	return ""
}

// shutdownStamp parses the agent's "[   t] phase shutdown: ..." line and
// returns t (guest time since kernel start).
func shutdownStamp(line string) (time.Duration, bool) {
	i := strings.Index(line, console.Prefix+"[")
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(console.Prefix)+1:]
	ts, after, ok := strings.Cut(rest, "]")
	if !ok || !strings.HasPrefix(strings.TrimSpace(after), "phase shutdown:") {
		return 0, false
	}
	s, err := strconv.ParseFloat(strings.TrimSpace(ts), 64)
	if err != nil || s < 0 {
		return 0, false
	}
	return time.Duration(s * float64(time.Second)), true
}

// finish stops watching and returns the whole serial log, the host times
// lines were seen, and the QEMU PID (0 if never seen).
func (w *serialWatch) finish() ([]byte, map[string]time.Duration, int) {
	close(w.stop)
	<-w.finished
	w.mu.Lock()
	defer w.mu.Unlock()
	w.readMore()
	if w.file != nil {
		_ = w.file.Close()
	}
	return w.buf, w.seen, w.qemuPID
}

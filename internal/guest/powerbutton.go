package guest

import (
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Linux input event constants (linux/input-event-codes.h).
const (
	evKey    = 0x01
	keyPower = 116
)

// inputEventSize is sizeof(struct input_event) on 64-bit: a timeval
// (16 bytes), type, code (2 bytes each), value (4 bytes).
const inputEventSize = 24

// watchPowerButton calls press when an input device named "Power Button"
// reports KEY_POWER down. That device exists when the kernel's ACPI
// button driver and evdev are present (modules button and evdev in the
// initrd for the Debian cloud kernel); QEMU's system_powerdown (QMP)
// presses it. Without such a device this does nothing.
func watchPowerButton(log *slog.Logger, press func()) {
	names, _ := filepath.Glob("/sys/class/input/event*/device/name")
	found := false
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil || strings.TrimSpace(string(b)) != "Power Button" {
			continue
		}
		ev := filepath.Base(filepath.Dir(filepath.Dir(n)))
		f, err := os.Open("/dev/input/" + ev)
		if err != nil {
			log.Warn("power button", "dev", ev, "err", err)
			continue
		}
		found = true
		log.Info("watching power button", "dev", ev)
		go readPowerButton(f, press)
	}
	if !found {
		log.Debug("no ACPI power button input device; power off with a signal or poweroff")
	}
}

func readPowerButton(f *os.File, press func()) {
	defer func() { _ = f.Close() }()
	buf := make([]byte, inputEventSize)
	for {
		if _, err := io.ReadFull(f, buf); err != nil {
			return
		}
		typ := binary.NativeEndian.Uint16(buf[16:18])
		code := binary.NativeEndian.Uint16(buf[18:20])
		val := int32(binary.NativeEndian.Uint32(buf[20:24]))
		if isPowerPress(typ, code, val) {
			press()
		}
	}
}

func isPowerPress(typ, code uint16, val int32) bool {
	return typ == evKey && code == keyPower && val == 1
}

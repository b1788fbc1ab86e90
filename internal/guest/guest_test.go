package guest

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestModuleName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "/lib/modules/6.1/kernel/drivers/block/virtio_blk.ko", "virtio_blk"},
		{"dash becomes underscore", "lib/modules/6.1/vmw_vsock_virtio-transport.ko", "vmw_vsock_virtio_transport"},
		{"compressed suffix", "/x/virtio_net.ko.xz", "virtio_net"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := moduleName(tc.in); got != tc.want {
				t.Fatalf("moduleName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestReadModuleList(t *testing.T) {
	in := "lib/modules/k/a.ko\n\n# comment\n  /lib/modules/k/b.ko  \r\nlib/modules/k/c.ko"
	want := []string{"/lib/modules/k/a.ko", "/lib/modules/k/b.ko", "/lib/modules/k/c.ko"}
	if got := readModuleList([]byte(in)); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSignalReason(t *testing.T) {
	tests := []struct {
		sig  os.Signal
		want string
	}{
		{syscall.SIGUSR2, "poweroff"},
		{syscall.SIGUSR1, "halt"},
		{syscall.SIGTERM, "reboot"},
		{syscall.SIGINT, "ctrl-alt-del"},
		{syscall.SIGPWR, "SIGPWR"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := signalReason(tc.sig); !strings.Contains(got, tc.want) {
				t.Fatalf("signalReason(%v) = %q", tc.sig, got)
			}
		})
	}
	for _, s := range []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2} {
		found := false
		for _, w := range shutdownSignals {
			found = found || w == s
		}
		if !found {
			t.Errorf("%v does not shut down", s)
		}
	}
}

func TestIsPowerPress(t *testing.T) {
	tests := []struct {
		name      string
		typ, code uint16
		val       int32
		want      bool
	}{
		{"power key down", evKey, keyPower, 1, true},
		{"power key up", evKey, keyPower, 0, false},
		{"power key repeat", evKey, keyPower, 2, false},
		{"other key", evKey, 30, 1, false},
		{"sync event", 0, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := isPowerPress(tc.typ, tc.code, tc.val); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestReadPowerButton(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ev := func(typ, code uint16, val int32) []byte {
		b := make([]byte, inputEventSize)
		putU16(b[16:], typ)
		putU16(b[18:], code)
		putU16(b[20:], uint16(val))
		return b
	}
	var stream bytes.Buffer
	stream.Write(ev(evKey, 30, 1))
	stream.Write(ev(evKey, keyPower, 1))
	stream.Write(ev(0, 0, 0))
	stream.Write(ev(evKey, keyPower, 0))
	go func() { _, _ = w.Write(stream.Bytes()); _ = w.Close() }()
	presses := 0
	readPowerButton(r, func() { presses++ })
	if presses != 1 {
		t.Fatalf("%d presses, want 1", presses)
	}
}

func putU16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) } // little-endian (amd64, arm64)

func TestRemoveSameDevice(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"init", "lib/modules/k/a.ko", "etc/smolvm/modules", "newroot/keep", "dev/console"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	removeSameDevice(dir, st.Dev, map[string]bool{filepath.Join(dir, "newroot"): true})
	left, _ := os.ReadDir(dir)
	if len(left) != 1 || left[0].Name() != "newroot" {
		t.Fatalf("left %v, want only newroot", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "newroot", "keep")); err != nil {
		t.Fatal("kept tree was touched")
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatal("symlink target removed")
	}
	// Another device is never entered.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	removeSameDevice(other, st.Dev+1, nil)
	if _, err := os.Stat(filepath.Join(other, "f")); err != nil {
		t.Fatal("removed a file on another device")
	}
}

func TestLogHandlerLine(t *testing.T) {
	var buf bytes.Buffer
	out := &consoleOut{w: &buf}
	log := slog.New(&logHandler{out: out, level: slog.LevelInfo}).With("phase", "network")
	log.Debug("hidden")
	log.Info("configured", "dev", "eth0")
	out.phase("modules", "3 loaded, 0 failed")
	out.milestone("network-up")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines %q", lines)
	}
	checks := []struct{ prefix, suffix string }{
		{"smolvm-agent: [", `] INFO configured phase="network" dev="eth0"`},
		{"smolvm-agent: [", "] phase modules: 3 loaded, 0 failed"},
		{"smolvm-agent: milestone network-up ", ""},
	}
	for i, c := range checks {
		if !strings.HasPrefix(lines[i], c.prefix) || !strings.HasSuffix(lines[i], c.suffix) {
			t.Errorf("line %d = %q", i, lines[i])
		}
	}
}

func TestRunArgs(t *testing.T) {
	if os.Getpid() == 1 {
		t.Skip("running as PID 1")
	}
	if err := Run([]string{"smolvm-agent"}, nil, io.Discard, io.Discard); !errors.Is(err, ErrNotInit) {
		t.Fatalf("no args: %v, want ErrNotInit", err)
	}
	if err := Run([]string{"smolvm-agent", "bogus"}, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("bad arg: %v", err)
	}
	// sftp-server mode with a client that hangs up at once ends cleanly.
	if err := Run([]string{"smolvm-agent", SFTPServerArg}, bytes.NewReader(nil), nopCloser{io.Discard}, io.Discard); err != nil {
		t.Fatalf("sftp-server on EOF: %v", err)
	}
}

func FuzzModuleList(f *testing.F) {
	f.Add("lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko\n# c\n\n/lib/modules/x/virtio-net.ko\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range readModuleList([]byte(s)) {
			if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.TrimSpace(p) != p || strings.ContainsRune(p, '\n') {
				t.Fatalf("bad path %q from %q", p, s)
			}
			if n := moduleName(p); strings.ContainsAny(n, "/-") {
				t.Fatalf("module name %q from %q", n, p)
			}
		}
	})
}

package firecracker

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/firecracker/fctest"
)

// The test binary doubles as a fake `firecracker` executable: with
// SMOLVM_FAKE_FIRECRACKER set it serves the strict fake API on --api-sock,
// so the backend's process code (fork, socket wait, kill, reaping) runs for
// real. Env knobs for the fake:
//
//	SMOLVM_FAKE_FC_SPEC   the API spec to validate against
//	SMOLVM_FAKE_FC_CALLS  file the fake rewrites with its JSON call log
//	SMOLVM_FAKE_FC_PID    file the fake writes its PID to
//	SMOLVM_FAKE_FC_MODE   "" | "nosocket" | "exit" | "ignore-cad" | "fault"
//	SMOLVM_FAKE_FC_FAULT  for "fault": METHOD PATH STATUS MESSAGE
const fakeEnv = "SMOLVM_FAKE_FIRECRACKER"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) != "" {
		os.Exit(fakeFirecracker(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeFirecracker(args []string) int {
	fs := flag.NewFlagSet("firecracker", flag.ContinueOnError)
	sock := fs.String("api-sock", "", "")
	logPath := fs.String("log-path", "", "")
	_ = fs.String("level", "", "")
	metrics := fs.String("metrics-path", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if p := os.Getenv("SMOLVM_FAKE_FC_PID"); p != "" {
		_ = os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
	// Like firecracker, the log and metrics files must already exist.
	for _, f := range []string{*logPath, *metrics} {
		if _, err := os.Stat(f); err != nil {
			fmt.Fprintf(os.Stderr, "fake firecracker: %v\n", err)
			return 1
		}
	}
	logf, _ := os.OpenFile(*logPath, os.O_WRONLY|os.O_APPEND, 0)
	logLine := func(s string) {
		if logf != nil {
			_, _ = fmt.Fprintln(logf, s)
		}
	}
	logLine("fake firecracker: running")
	switch os.Getenv("SMOLVM_FAKE_FC_MODE") {
	case "nosocket":
		time.Sleep(time.Hour)
		return 0
	case "exit":
		logLine("fake firecracker: cannot open kernel image: Permission denied")
		fmt.Fprintln(os.Stderr, "fake firecracker: fatal error, exiting")
		return 1
	}
	spec, err := fctest.LoadSpec(os.Getenv("SMOLVM_FAKE_FC_SPEC"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := fctest.NewServer(spec)
	if os.Getenv("SMOLVM_FAKE_FC_MODE") == "fault" {
		f := strings.SplitN(os.Getenv("SMOLVM_FAKE_FC_FAULT"), " ", 4)
		status, _ := strconv.Atoi(f[2])
		srv.Fault(f[0], f[1], status, f[3])
	}
	var mu sync.Mutex
	srv.OnCall(func(c fctest.Call) {
		mu.Lock()
		defer mu.Unlock()
		if p := os.Getenv("SMOLVM_FAKE_FC_CALLS"); p != "" {
			b, _ := json.Marshal(srv.Calls())
			_ = os.WriteFile(p, b, 0o600)
		}
		if c.Method == "PUT" && c.Path == "/snapshot/create" && c.Status == 204 {
			var s struct {
				SnapshotPath string `json:"snapshot_path"`
				MemFilePath  string `json:"mem_file_path"`
			}
			_ = json.Unmarshal(c.Body, &s)
			_ = os.WriteFile(s.SnapshotPath, []byte("state"), 0o600)
			_ = os.WriteFile(s.MemFilePath, []byte("memory"), 0o600)
		}
		if c.Method == "PUT" && c.Path == "/snapshot/load" && c.Status == 204 {
			serveVsock(srv.VsockOverride())
		}
		if c.Method == "PUT" && c.Path == "/vsock" && c.Status == 204 {
			serveVsock(srv.VsockPath()) // firecracker binds uds_path when the device is configured
		}
	})
	srv.OnAction(func(a string) {
		switch a {
		case "SendCtrlAltDel":
			if os.Getenv("SMOLVM_FAKE_FC_MODE") == "ignore-cad" {
				return
			}
			logLine("fake firecracker: guest powered off")
			go func() { time.Sleep(20 * time.Millisecond); os.Exit(0) }()
		}
	})
	l, err := net.Listen("unix", *sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = srv.Serve(l)
	return 0
}

// serveVsock binds path and plays Firecracker's host side of vsock with
// an echo server listening on every guest port.
func serveVsock(path string) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return
	}
	go acceptVsock(l)
}

func acceptVsock(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer func() { _ = c.Close() }()
			var line []byte
			b := make([]byte, 1)
			for {
				if _, err := c.Read(b); err != nil {
					return
				}
				if b[0] == '\n' {
					break
				}
				line = append(line, b[0])
			}
			if !strings.HasPrefix(string(line), "CONNECT ") {
				return
			}
			_, _ = io.WriteString(c, "OK 1073741824\n")
			_, _ = io.Copy(c, c)
		}()
	}
}

// vmlinux writes a minimal ELF64 x86-64 executable that passes
// kernel.CheckELF.
func vmlinux(t *testing.T, dir string) string {
	t.Helper()
	const ehsize, phsize, n = 64, 56, 64
	b := make([]byte, ehsize+phsize+n)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2)
	le.PutUint16(b[18:], 62)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], 0x1000000)
	le.PutUint64(b[32:], ehsize)
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phsize)
	le.PutUint16(b[56:], 1)
	le.PutUint32(b[ehsize:], 1)
	le.PutUint64(b[ehsize+8:], ehsize+phsize)
	le.PutUint64(b[ehsize+32:], n)
	p := filepath.Join(dir, "vmlinux")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

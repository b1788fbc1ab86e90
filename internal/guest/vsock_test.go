package guest

import (
	"io"
	"testing"

	"golang.org/x/sys/unix"
)

// TestVsockListener serves one connection over vsock loopback (CID 1),
// when the host kernel has it.
func TestVsockListener(t *testing.T) {
	ln, err := listenVsock(0x5a0 + uint32(unix.Getpid()%1000))
	if err != nil {
		t.Skipf("no AF_VSOCK here: %v", err)
	}
	defer ln.Close()
	port := ln.Addr().(vsockAddr).port
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_LOCAL, Port: port}); err != nil {
		t.Skipf("no vsock loopback transport: %v", err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.RemoteAddr().Network() != "vsock" || c.LocalAddr().String() == "" {
		t.Fatalf("addrs %v %v", c.LocalAddr(), c.RemoteAddr())
	}
	if _, err := unix.Write(fd, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q %v", buf, err)
	}
	if _, err := c.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	n, err := unix.Read(fd, buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("reply %q %v", buf[:n], err)
	}
	// Close unblocks a pending Accept.
	done := make(chan error, 1)
	go func() { _, err := ln.Accept(); done <- err }()
	_ = ln.Close()
	if err := <-done; err == nil {
		t.Fatal("Accept after Close succeeded")
	}
}

package vsock

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// peer listens like Firecracker's vsock socket and runs serve on each
// connection after reading the CONNECT line, which it reports on got.
func peer(t *testing.T, serve func(c net.Conn, connectLine string)) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "v.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				line, err := bufio.NewReader(io.LimitReader(c, 64)).ReadString('\n')
				if err != nil {
					return
				}
				serve(c, line)
			}()
		}
	}()
	return sock
}

func TestDialOKAndData(t *testing.T) {
	got := make(chan string, 1)
	sock := peer(t, func(c net.Conn, line string) {
		got <- line
		// The reply, the guest's first bytes in the same write, then echo.
		_, _ = io.WriteString(c, "OK 1073741824\nSSH-2.0-guest\r\n")
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err == nil {
			_, _ = c.Write(buf)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := Dial(ctx, sock, 22)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if l := <-got; l != "CONNECT 22\n" {
		t.Fatalf("peer read %q", l)
	}
	first := make([]byte, len("SSH-2.0-guest\r\n"))
	if _, err := io.ReadFull(conn, first); err != nil || string(first) != "SSH-2.0-guest\r\n" {
		t.Fatalf("bytes after OK: %q %v", first, err)
	}
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, 5)
	if _, err := io.ReadFull(conn, echo); err != nil || string(echo) != "hello" {
		t.Fatalf("echo %q %v", echo, err)
	}
}

func TestDialErrors(t *testing.T) {
	cases := []struct {
		name  string
		reply string // written before closing; "" = close at once
		want  error
		hang  bool
	}{
		{"refused: peer closes", "", ErrRefused, false},
		{"garbled word", "NOPE 22\n", ErrBadReply, false},
		{"garbled number", "OK twenty\n", ErrBadReply, false},
		{"empty number", "OK \n", ErrBadReply, false},
		{"no newline then close", "OK 5", ErrBadReply, false},
		{"line too long", strings.Repeat("O", 100), ErrBadReply, false},
		{"peer never answers", "", context.DeadlineExceeded, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			sock := peer(t, func(conn net.Conn, _ string) {
				if c.hang {
					<-release
					return
				}
				_, _ = io.WriteString(conn, c.reply)
			})
			timeout := 10 * time.Second
			if c.hang {
				timeout = 200 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			conn, err := Dial(ctx, sock, 22)
			if err == nil {
				_ = conn.Close()
				t.Fatal("dial succeeded")
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestDialNoSocket(t *testing.T) {
	_, err := Dial(context.Background(), filepath.Join(t.TempDir(), "none.sock"), 22)
	if err == nil || !strings.Contains(err.Error(), "none.sock") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseOK(f *testing.F) {
	for _, s := range []string{"OK 1073741824", "OK 22", "OK", "OK -1", "ok 1", "OK 1 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := parseOK(s)
		if err == nil && !strings.HasPrefix(s, "OK ") {
			t.Fatalf("accepted %q", s)
		}
	})
}

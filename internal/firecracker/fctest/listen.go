package fctest

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// Start serves a new fake on a unix socket in a short temporary directory
// and returns it with the socket path; both are cleaned up with t.
func Start(t testing.TB, spec *Spec) (*Server, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "fct")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(spec)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = l.Close() })
	return srv, sock
}

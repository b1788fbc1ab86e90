package sshd

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
)

var (
	sftpBinOnce sync.Once
	sftpBin     string
	sftpBinErr  error
)

// sftpServerBinary returns a copy of this test binary that any user can
// execute (the build cache is private to root), for SFTPCommand.
func sftpServerBinary(t testing.TB) string {
	sftpBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "smolvm-sftp-")
		if err != nil {
			sftpBinErr = err
			return
		}
		sftpBin = filepath.Join(dir, "sftp-server")
		sftpBinErr = copyExecutable(os.Args[0], sftpBin)
		_ = os.Chmod(dir, 0o755)
	})
	if sftpBinErr != nil {
		t.Fatal(sftpBinErr)
	}
	return sftpBin
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

func fileUID(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return ^uint32(0)
}

func marshalAuthorized(s ssh.Signer) []byte { return ssh.MarshalAuthorizedKey(s.PublicKey()) }

var syscallEMFILE = syscall.EMFILE

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

package sshd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// drainIdle is how long output is still read after the command exited
// once its pipes go quiet: what the command wrote before exiting is
// already buffered and read at once, so this only cuts off background
// processes that keep the session's stdout open (OpenSSH would hang).
const drainIdle = 200 * time.Millisecond

type kind int

const (
	kindExec kind = iota
	kindShell
	kindSFTP
)

// start runs the session's command: `<shell> -c command` for exec, a
// login shell for shell, the sftp server for the subsystem. It reports
// whether the request succeeded.
func (s *session) start(k kind, command string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return false
	}
	if k == kindSFTP && len(s.srv.cfg.SFTPCommand) == 0 {
		s.started = true
		s.run = func() { go s.serveSFTP() }
		return true
	}
	cmd, err := s.command(k, command)
	if err == nil {
		if s.pty != nil && k != kindSFTP {
			err = s.startPTY(cmd)
		} else {
			err = s.startPipes(cmd)
		}
	}
	if err != nil {
		s.srv.log.Warn("session start failed", "user", s.user.Name, "err", err)
		return false
	}
	s.started = true
	s.srv.log.Debug("session started", "user", s.user.Name, "pid", s.proc.Pid(), "pty", s.pty != nil)
	return true
}

func (s *session) command(k kind, command string) (*exec.Cmd, error) {
	u := s.user
	cmd := &exec.Cmd{Path: u.Shell, Env: s.environ(), Dir: "/"}
	switch k {
	case kindExec:
		cmd.Args = []string{path.Base(u.Shell), "-c", command}
	case kindShell:
		cmd.Args = []string{shellArgv0(u.Shell)}
	case kindSFTP:
		cmd.Path, cmd.Args = s.srv.cfg.SFTPCommand[0], s.srv.cfg.SFTPCommand
	}
	if fi, err := os.Stat(u.Home); err == nil && fi.IsDir() {
		cmd.Dir = u.Home
	}
	cred, err := credential(u)
	if err != nil {
		return nil, err
	}
	// Its own session, so the process group can be signalled and killed
	// as a whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	return cmd, nil
}

// credential switches to the user when running as root; a non-root server
// can only run commands as itself.
func credential(u User) (*syscall.Credential, error) {
	euid := os.Geteuid()
	if euid == 0 {
		groups := u.Groups
		if groups == nil {
			groups = []uint32{}
		}
		return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: groups}, nil
	}
	if uint32(euid) == u.UID {
		return nil, nil
	}
	return nil, fmt.Errorf("user %q: cannot switch to uid %d as uid %d", u.Name, u.UID, euid)
}

func (s *session) startPipes(cmd *exec.Cmd) error {
	var files []*os.File
	pipe := func() (*os.File, *os.File, error) {
		r, w, err := os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err1 := pipe()
	outR, outW, err2 := pipe()
	errR, errW, err3 := pipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		closeAll(files)
		return fmt.Errorf("pipes: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	p, err := s.srv.cfg.Starter.Start(cmd)
	closeAll([]*os.File{inR, outW, errW})
	if err != nil {
		closeAll([]*os.File{inW, outR, errR})
		return err
	}
	s.proc = p
	s.run = func() {
		go func() {
			_, _ = io.Copy(inW, s.ch)
			_ = inW.Close()
		}()
		go s.finish([]*os.File{outR, errR}, []io.Writer{s.ch, s.ch.Stderr()})
	}
	return nil
}

func (s *session) startPTY(cmd *exec.Cmd) error {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return fmt.Errorf("pty: %w", err)
	}
	_ = pty.Setsize(ptmx, winsize(s.pty))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0
	p, err := s.srv.cfg.Starter.Start(cmd)
	_ = tty.Close()
	if err != nil {
		_ = ptmx.Close()
		return err
	}
	s.proc, s.ptmx = p, ptmx
	s.run = func() {
		go func() {
			// On the client's EOF (ssh -tt < file), type the terminal's EOF
			// character, so a shell reading an empty line exits as it
			// would at a keyboard instead of waiting forever.
			if _, err := io.Copy(ptmx, s.ch); err == nil {
				_, _ = ptmx.Write([]byte{veof(ptmx)})
			}
		}()
		go s.finish([]*os.File{ptmx}, []io.Writer{s.ch})
	}
	return nil
}

// finish relays output until the command has exited and its output is
// drained, then sends exit-signal (when killed) and exit-status (always)
// and closes the channel.
func (s *session) finish(srcs []*os.File, dsts []io.Writer) {
	exited := make(chan struct{})
	var wg sync.WaitGroup
	for i := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pump(dsts[i], srcs[i], exited)
		}()
	}
	ws, err := s.proc.Wait()
	close(exited)
	for _, f := range srcs {
		_ = f.SetReadDeadline(time.Now().Add(drainIdle))
	}
	wg.Wait()
	s.mu.Lock()
	s.ptmx = nil
	s.mu.Unlock()
	closeAll(srcs)
	code := 255
	switch {
	case err != nil:
		s.srv.log.Warn("wait failed", "pid", s.proc.Pid(), "err", err)
	case ws.Signaled():
		code = 128 + int(ws.Signal())
		_, _ = s.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{signalName(ws.Signal()), ws.CoreDump(), "", ""}))
	default:
		code = ws.ExitStatus()
	}
	s.exit(code)
}

// exit sends EOF and exit-status and closes the channel.
func (s *session) exit(code int) {
	_ = s.ch.CloseWrite()
	_, _ = s.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
	_ = s.ch.Close()
}

// pump copies src to dst. Once exited is closed every read gets a fresh
// drainIdle deadline, so it stops when the output goes quiet.
func pump(dst io.Writer, src *os.File, exited <-chan struct{}) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			select {
			case <-exited:
				_ = src.SetReadDeadline(time.Now().Add(drainIdle))
			default:
			}
		}
		if err != nil {
			return // EOF, EIO from a PTY whose slave closed, or the deadline
		}
	}
}

// serveSFTP runs the sftp server inside this process (no SFTPCommand).
func (s *session) serveSFTP() {
	code := 0
	srv, err := sftp.NewServer(s.ch, sftp.WithServerWorkingDirectory(s.user.Home))
	if err == nil {
		err = srv.Serve()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.srv.log.Info("sftp ended", "user", s.user.Name, "err", err)
		code = 1
	}
	s.exit(code)
}

// ServeSFTP serves the sftp protocol on r/w (a process's stdin/stdout)
// until the client hangs up, relative paths resolving against the working
// directory. It is the body of the agent's sftp-server mode.
func ServeSFTP(r io.Reader, w io.WriteCloser) error {
	srv, err := sftp.NewServer(struct {
		io.Reader
		io.WriteCloser
	}{r, w})
	if err != nil {
		return fmt.Errorf("sftp: %w", err)
	}
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("sftp: %w", err)
	}
	return nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}

// veof is the terminal's EOF character (VEOF), ^D unless changed.
// (SyscallConn, not Fd: Fd would make ptmx blocking and lose deadlines.)
func veof(ptmx *os.File) byte {
	c := byte(4)
	rc, err := ptmx.SyscallConn()
	if err != nil {
		return c
	}
	_ = rc.Control(func(fd uintptr) {
		if t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS); err == nil && t.Cc[unix.VEOF] != 0 {
			c = t.Cc[unix.VEOF]
		}
	})
	return c
}

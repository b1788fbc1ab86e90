// Package sshd is the guest agent's SSH server: public-key logins for the
// users in a passwd file, exec and shell sessions (with or without a PTY),
// env requests, signals, exit statuses, the sftp subsystem and
// direct-tcpip forwarding, as docs/guest.md describes.
//
// It does not need to be PID 1: everything it touches is injected through
// Config (listener, keys, passwd path, process starter, logger), so tests
// run it on the host on 127.0.0.1:0 and drive it with real clients.
package sshd

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/smolvm/smolvm/internal/guest/reaper"
)

// DefaultPath is PATH for every session unless the client sends its own.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// handshakeTimeout bounds a connection's key exchange and authentication.
const handshakeTimeout = 30 * time.Second

// Starter starts a child process and reports its end. reaper.Direct fits
// an ordinary process, *reaper.Reaper fits PID 1.
type Starter interface {
	Start(cmd *exec.Cmd) (reaper.Process, error)
}

// Config is what a Server needs. HostKey and Logger are required.
type Config struct {
	// HostKey is the server's host key.
	HostKey ssh.Signer
	// AuthorizedKeys may log in as any user in the passwd file. Empty
	// means every login is refused.
	AuthorizedKeys []ssh.PublicKey
	// PasswdPath and GroupPath default to /etc/passwd and /etc/group.
	// They are read on every login, so users added later can log in.
	PasswdPath, GroupPath string
	// Starter starts session processes; nil means reaper.Direct{}.
	Starter Starter
	// SFTPCommand, when set, is the argv of a program that speaks sftp on
	// its stdin/stdout (e.g. this binary's "sftp-server" mode); it runs
	// under the user's credentials like any command. When nil the sftp
	// server runs inside this process with the server's own privileges.
	SFTPCommand []string
	// Logger receives structured logs; env values are never logged.
	Logger *slog.Logger
}

// Server serves SSH on any number of listeners. It is safe for concurrent
// use.
type Server struct {
	cfg    Config
	sshCfg *ssh.ServerConfig
	log    *slog.Logger

	mu    sync.Mutex
	conns map[*ssh.ServerConn]struct{}
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("sshd: Config.HostKey is required")
	}
	if cfg.Logger == nil {
		return nil, errors.New("sshd: Config.Logger is required")
	}
	if cfg.PasswdPath == "" {
		cfg.PasswdPath = "/etc/passwd"
	}
	if cfg.GroupPath == "" {
		cfg.GroupPath = "/etc/group"
	}
	if cfg.Starter == nil {
		cfg.Starter = reaper.Direct{}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: map[*ssh.ServerConn]struct{}{}}
	s.sshCfg = &ssh.ServerConfig{
		PublicKeyCallback: s.authorize,
		MaxAuthTries:      6,
		ServerVersion:     "SSH-2.0-smolvm",
	}
	s.sshCfg.AddHostKey(cfg.HostKey)
	return s, nil
}

// authorize accepts key for user when the key is authorized and the user
// exists in the passwd file.
func (s *Server) authorize(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	want := key.Marshal()
	ok := false
	for _, k := range s.cfg.AuthorizedKeys {
		if subtle.ConstantTimeCompare(k.Marshal(), want) == 1 {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("key %s not authorized", ssh.FingerprintSHA256(key))
	}
	if _, err := lookupUser(s.cfg.PasswdPath, s.cfg.GroupPath, meta.User()); err != nil {
		return nil, err
	}
	return &ssh.Permissions{Extensions: map[string]string{"fp": ssh.FingerprintSHA256(key)}}, nil
}

// Serve accepts connections on ln until ctx is done or ln is closed,
// retrying transient accept errors with a backoff. When ctx is done it
// closes ln and every connection it accepted. It returns nil after ctx is
// done, else an error matching net.ErrClosed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept: %w", err)
			}
			// Anything else (EMFILE, ECONNABORTED, ...) is transient: the
			// guest's only way in must not stop for it.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept", "err", err, "retry_in", backoff.String())
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c)
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer func() {
		// A bug in one connection must not take PID 1 down with it.
		if r := recover(); r != nil {
			s.log.Error("ssh connection panic", "remote", c.RemoteAddr().String(), "panic", fmt.Sprint(r))
			_ = c.Close()
		}
	}()
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	conn, chans, reqs, err := ssh.NewServerConn(c, s.sshCfg)
	if err != nil {
		s.log.Info("ssh handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	s.log.Info("ssh login", "user", conn.User(), "remote", c.RemoteAddr().String(), "key", conn.Permissions.Extensions["fp"])
	s.mu.Lock()
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer func() {
		stop()
		_ = conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	go handleGlobal(reqs)
	var wg sync.WaitGroup
	for nc := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("ssh channel panic", "type", nc.ChannelType(), "panic", fmt.Sprint(r))
				}
			}()
			s.handleChannel(conn, nc)
		}()
	}
	wg.Wait()
}

// handleGlobal answers global requests: keepalives succeed, the rest
// (tcpip-forward and friends) are refused.
func handleGlobal(reqs <-chan *ssh.Request) {
	for r := range reqs {
		if r.WantReply {
			_ = r.Reply(r.Type == "keepalive@openssh.com", nil)
		}
	}
}

func (s *Server) handleChannel(conn *ssh.ServerConn, nc ssh.NewChannel) {
	switch nc.ChannelType() {
	case "session":
		u, err := lookupUser(s.cfg.PasswdPath, s.cfg.GroupPath, conn.User())
		if err != nil {
			_ = nc.Reject(ssh.Prohibited, "unknown user")
			return
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		newSession(s, u, ch).serve(reqs)
	case "direct-tcpip":
		s.directTCPIP(nc)
	default:
		_ = nc.Reject(ssh.UnknownChannelType, "unsupported channel type")
	}
}

// Close closes every open connection (their processes are killed as their
// channels close). Listeners are closed by cancelling Serve's context.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

// hostKeyLine returns the host key in authorized_keys format without
// newline, as the console line carries it.
func hostKeyLine(k ssh.PublicKey) string {
	return string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(k)))
}

// HostKeyLine returns the server's host public key in authorized_keys
// format, without newline.
func (s *Server) HostKeyLine() string { return hostKeyLine(s.cfg.HostKey.PublicKey()) }

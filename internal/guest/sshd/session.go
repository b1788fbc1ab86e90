package sshd

import (
	"os"
	"path"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"

	"github.com/smolvm/smolvm/env"
	"github.com/smolvm/smolvm/internal/guest/reaper"
)

// maxEnv bounds the env requests one session may send.
const maxEnv = 4096

// session is one "session" channel: requests before the start configure
// it, one exec/shell/subsystem starts it, later ones are refused.
type session struct {
	srv  *Server
	user User
	ch   ssh.Channel

	mu      sync.Mutex
	envKeys []string // client env, in arrival order, keys unique
	envVals map[string]string
	pty     *ptyRequest
	ptmx    *os.File
	started bool
	proc    reaper.Process
	run     func() // starts the I/O goroutines once the request is answered
}

type ptyRequest struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

func newSession(s *Server, u User, ch ssh.Channel) *session {
	return &session{srv: s, user: u, ch: ch, envVals: map[string]string{}}
}

// serve handles the channel's requests until the client closes it. A
// client that closes the channel while the command still runs kills the
// command's process group.
func (s *session) serve(reqs <-chan *ssh.Request) {
	for r := range reqs {
		ok := s.handle(r)
		if r.WantReply {
			_ = r.Reply(ok, nil)
		}
		// Output, exit-status and close only after the reply: a command
		// that ends at once must not close the channel before the client
		// hears that exec succeeded.
		s.mu.Lock()
		run := s.run
		s.run = nil
		s.mu.Unlock()
		if run != nil {
			run()
		}
	}
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		if err := p.SignalGroup(syscall.SIGKILL); err == nil {
			s.srv.log.Info("channel closed, killed process group", "pid", p.Pid())
		}
	}
	// Without a started command nobody else closes the channel.
	_ = s.ch.Close()
}

func (s *session) handle(r *ssh.Request) bool {
	switch r.Type {
	case "env":
		var m struct{ Name, Value string }
		if ssh.Unmarshal(r.Payload, &m) != nil {
			return false
		}
		return s.setEnv(m.Name, m.Value)
	case "pty-req":
		var m ptyRequest
		if ssh.Unmarshal(r.Payload, &m) != nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.started {
			return false
		}
		s.pty = &m
		return true
	case "window-change":
		var m struct{ Cols, Rows, Width, Height uint32 }
		if ssh.Unmarshal(r.Payload, &m) != nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.pty == nil {
			return false
		}
		s.pty.Cols, s.pty.Rows = m.Cols, m.Rows
		if s.ptmx != nil {
			_ = pty.Setsize(s.ptmx, winsize(s.pty))
		}
		return true
	case "exec":
		var m struct{ Command string }
		if ssh.Unmarshal(r.Payload, &m) != nil {
			return false
		}
		return s.start(kindExec, m.Command)
	case "shell":
		return s.start(kindShell, "")
	case "subsystem":
		var m struct{ Name string }
		if ssh.Unmarshal(r.Payload, &m) != nil || m.Name != "sftp" {
			return false
		}
		return s.start(kindSFTP, "")
	case "signal":
		var m struct{ Signal string }
		if ssh.Unmarshal(r.Payload, &m) != nil {
			return false
		}
		return s.signal(ssh.Signal(m.Signal))
	case "keepalive@openssh.com":
		return true
	}
	return false
}

// setEnv records one env request. Keys must pass env.ValidateKey; values
// must be valid UTF-8 without NUL. The value is never logged.
func (s *session) setEnv(k, v string) bool {
	log := s.srv.log
	if err := env.ValidateKey(k); err != nil {
		log.Info("env request refused", "key", k, "err", err)
		return false
	}
	if !validValue(v) {
		log.Info("env request refused: value has NUL or invalid UTF-8", "key", k)
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return false
	}
	if _, seen := s.envVals[k]; !seen {
		if len(s.envKeys) >= maxEnv {
			log.Info("env request refused: too many variables", "key", k)
			return false
		}
		s.envKeys = append(s.envKeys, k)
	}
	s.envVals[k] = v
	return true
}

func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] == 0 {
			return false
		}
	}
	return utf8.ValidString(v)
}

func (s *session) signal(name ssh.Signal) bool {
	sig, ok := signals[name]
	if !ok {
		return false
	}
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return false
	}
	return p.SignalGroup(sig) == nil
}

// environ is the command's environment: the login basics, TERM with a
// PTY, then the client's variables (which may override the basics).
func (s *session) environ() []string {
	u := s.user
	base := [][2]string{
		{"HOME", u.Home}, {"USER", u.Name}, {"LOGNAME", u.Name},
		{"SHELL", u.Shell}, {"PATH", DefaultPath},
	}
	if s.pty != nil && s.pty.Term != "" {
		base = append(base, [2]string{"TERM", s.pty.Term})
	}
	out := make([]string, 0, len(base)+len(s.envKeys))
	for _, kv := range base {
		if _, over := s.envVals[kv[0]]; !over {
			out = append(out, kv[0]+"="+kv[1])
		}
	}
	for _, k := range s.envKeys {
		out = append(out, k+"="+s.envVals[k])
	}
	return out
}

// shellArgv0 is the login-shell argv[0] ("-sh") for interactive shells.
func shellArgv0(shell string) string { return "-" + path.Base(shell) }

func winsize(p *ptyRequest) *pty.Winsize {
	return &pty.Winsize{Cols: clamp16(p.Cols), Rows: clamp16(p.Rows), X: clamp16(p.Width), Y: clamp16(p.Height)}
}

func clamp16(v uint32) uint16 {
	if v > 0xffff {
		return 0xffff
	}
	return uint16(v)
}

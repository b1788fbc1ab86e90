package sshx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultMaxSessions is the default limit on concurrent sessions per
// connection: OpenSSH's default MaxSessions, so a stock sshd never refuses
// a session for being one too many.
const DefaultMaxSessions = 10

// DefaultHandshakeTimeout bounds one dial plus SSH handshake.
const DefaultHandshakeTimeout = 10 * time.Second

// Config says how to reach and authenticate to one VM's SSH server.
type Config struct {
	// Dial opens the transport to the server: TCP to 127.0.0.1:PORT, or a
	// vsock connection. Required. It must honour ctx.
	Dial func(ctx context.Context) (net.Conn, error)
	// User is the login user; default "root".
	User string
	// Signer is the client key (see LoadOrCreateKey). Required.
	Signer ssh.Signer
	// HostKey returns the pinned host key in authorized_keys format. It is
	// called before every handshake, because the guest prints its key on the
	// serial console only while it boots. Return an error wrapping
	// ErrNoHostKey while the key is not known yet. Required.
	HostKey func() (string, error)
	// MaxSessions limits concurrent sessions on the connection; callers
	// beyond it wait. 0 means DefaultMaxSessions; negative means no limit.
	MaxSessions int
	// HandshakeTimeout bounds one dial plus handshake; 0 means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Logger receives debug records about connects and retries; nil
	// discards them. Commands and env values are never logged.
	Logger *slog.Logger
}

// Client is one VM's SSH client: a single persistent connection, opened on
// first use and re-opened transparently when it breaks, with a fresh
// session per Run. It is safe for concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger
	sem chan struct{} // nil when unlimited

	mu      sync.Mutex
	conn    *ssh.Client
	dialing chan struct{} // closed when the dial in progress ends
	closed  bool

	sessions, stdinBytes, commandBytes, connects atomic.Uint64
}

// Stats are a Client's counters since New, for benchmarks and tests.
type Stats struct {
	Sessions     uint64 // sessions opened
	StdinBytes   uint64 // bytes written to sessions' stdin
	CommandBytes uint64 // bytes of command strings sent (exec requests)
	Connects     uint64 // successful SSH handshakes
}

// New checks cfg and returns a Client. It does not connect: the first Run,
// Session or WaitReady does.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.Dial == nil:
		return nil, errors.New("sshx: Config.Dial is required")
	case cfg.Signer == nil:
		return nil, errors.New("sshx: Config.Signer is required")
	case cfg.HostKey == nil:
		return nil, errors.New("sshx: Config.HostKey is required")
	}
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	c := &Client{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch n := cfg.MaxSessions; {
	case n == 0:
		c.sem = make(chan struct{}, DefaultMaxSessions)
	case n > 0:
		c.sem = make(chan struct{}, n)
	}
	return c, nil
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Sessions:     c.sessions.Load(),
		StdinBytes:   c.stdinBytes.Load(),
		CommandBytes: c.commandBytes.Load(),
		Connects:     c.connects.Load(),
	}
}

// Close closes the connection; running sessions end and later calls fail
// with ErrClosed. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	conn := c.conn
	c.conn, c.closed = nil, true
	c.mu.Unlock()
	if conn != nil {
		_ = conn.Close() // the connection is going away either way
	}
	return nil
}

// client returns the current connection, dialing one if there is none.
// Concurrent callers share one dial.
func (c *Client) client(ctx context.Context) (*ssh.Client, error) {
	for {
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return nil, ErrClosed
		case c.conn != nil:
			conn := c.conn
			c.mu.Unlock()
			return conn, nil
		case c.dialing != nil:
			ch := c.dialing
			c.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		c.dialing = ch
		c.mu.Unlock()

		conn, err := c.dial(ctx)

		c.mu.Lock()
		c.dialing = nil
		close(ch)
		if err == nil && c.closed {
			_ = conn.Close()
			err = ErrClosed
		}
		if err == nil {
			c.conn = conn
		}
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		go func() {
			_ = conn.Wait() // returns when the connection dies
			c.drop(conn)
		}()
		return conn, nil
	}
}

// drop forgets conn (if it is still the current connection) and closes it.
func (c *Client) drop(conn *ssh.Client) {
	c.mu.Lock()
	if c.conn == conn {
		c.conn = nil
	}
	c.mu.Unlock()
	_ = conn.Close()
}

// dial opens the transport and does the handshake, pinning the host key.
func (c *Client) dial(ctx context.Context) (*ssh.Client, error) {
	line, err := c.cfg.HostKey()
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	pinned, err := ParseHostKey(line)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	defer cancel()
	nc, err := c.cfg.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	// The handshake has no context: bound it by closing the conn (after
	// ctx is done, so the error below can tell a timeout from a failure).
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	cc, chans, reqs, err := ssh.NewClientConn(nc, "smolvm", &ssh.ClientConfig{
		User:              c.cfg.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(c.cfg.Signer)},
		HostKeyCallback:   PinnedHostKey(pinned),
		HostKeyAlgorithms: hostKeyAlgorithms(pinned),
	})
	if !stop() || err != nil {
		_ = nc.Close()
		if err == nil {
			_ = cc.Close()
			err = ctx.Err()
		}
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, ErrHostKeyMismatch) {
			return nil, fmt.Errorf("handshake: %w (%w)", cerr, err)
		}
		return nil, fmt.Errorf("handshake: %w", err)
	}
	c.connects.Add(1)
	c.log.Debug("ssh connected", "user", c.cfg.User, "hostkey", ssh.FingerprintSHA256(pinned))
	return ssh.NewClient(cc, chans, reqs), nil
}

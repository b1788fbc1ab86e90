package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Session is one SSH session on a Client's connection, for protocols that
// need more than Run (an interactive exchange on stdin/stdout). It embeds
// *ssh.Session; use StdinPipe and Start (not the embedded Stdin field, Run
// or Output) so the Client's counters see the traffic. Close it when done:
// Close releases the session's slot in the Client's MaxSessions limit.
type Session struct {
	*ssh.Session
	c       *Client
	release func()
}

// Session opens a fresh session, reconnecting first if the connection is
// broken. It waits for a free slot when MaxSessions sessions are open.
func (c *Client) Session(ctx context.Context) (*Session, error) {
	s, release, err := c.openSession(ctx)
	if err != nil {
		return nil, err
	}
	return &Session{Session: s, c: c, release: release}, nil
}

// StdinPipe returns the remote command's stdin; bytes written are counted
// in Stats.StdinBytes. Close it to send EOF.
func (s *Session) StdinPipe() (io.WriteCloser, error) {
	w, err := s.Session.StdinPipe()
	if err != nil {
		return nil, err
	}
	return &countingWriteCloser{WriteCloser: w, n: &s.c.stdinBytes}, nil
}

// Start starts cmd (an exec request); its length is counted in
// Stats.CommandBytes.
func (s *Session) Start(cmd string) error {
	s.c.commandBytes.Add(uint64(len(cmd)))
	return s.Session.Start(cmd)
}

// Close closes the session and releases its slot. It is idempotent.
func (s *Session) Close() error {
	err := s.Session.Close()
	s.release()
	if errors.Is(err, io.EOF) {
		err = nil // already closed by the server
	}
	return err
}

// openSession opens a session on the current connection. When that fails
// because the connection is broken, it reconnects once and tries again:
// nothing has run yet, so the retry is safe. A refusal by the server (an
// open-channel rejection) is returned as is. The returned release frees the
// MaxSessions slot; it is idempotent.
func (c *Client) openSession(ctx context.Context) (*ssh.Session, func(), error) {
	release := func() {}
	if c.sem != nil {
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		var once sync.Once
		release = func() { once.Do(func() { <-c.sem }) }
	}
	reconnected := false
	var refusedSince time.Time
	delay := 5 * time.Millisecond
	for {
		conn, err := c.client(ctx)
		if err != nil {
			release()
			return nil, nil, err
		}
		s, err := newSession(ctx, conn)
		if err == nil {
			c.sessions.Add(1)
			return s, release, nil
		}
		var oce *ssh.OpenChannelError
		switch {
		case ctx.Err() != nil:
		case errors.As(err, &oce):
			// The server refused this session (OpenSSH: "no more sessions"
			// while it still counts sessions we already closed). Nothing
			// ran: retry for a while.
			if refusedSince.IsZero() {
				refusedSince = time.Now()
			}
			if time.Since(refusedSince) < refusedRetryFor && sleepCtx(ctx, delay) {
				delay = min(2*delay, 100*time.Millisecond)
				continue
			}
		case !reconnected:
			// A broken connection: nothing ran, reconnect once.
			c.log.Debug("ssh connection broken, reconnecting", "err", err)
			c.drop(conn)
			reconnected = true
			continue
		}
		release()
		return nil, nil, fmt.Errorf("open session: %w", err)
	}
}

// refusedRetryFor bounds how long openSession retries a refused session.
const refusedRetryFor = 3 * time.Second

// sleepCtx sleeps for d and reports true, or returns false when ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newSession is conn.NewSession bounded by ctx. When ctx ends first, a
// session that opens later is closed.
func newSession(ctx context.Context, conn *ssh.Client) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := conn.NewSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				_ = r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

type countingWriteCloser struct {
	io.WriteCloser
	n *atomic.Uint64
}

func (w *countingWriteCloser) Write(p []byte) (int, error) {
	n, err := w.WriteCloser.Write(p)
	w.n.Add(uint64(n)) //nolint:gosec // n is never negative
	return n, err
}

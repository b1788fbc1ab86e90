package sshx

import (
	"io"
	"sync"
)

// guard forwards a session's stdout and stderr to the caller's writers
// until closed, then drops everything: nothing reaches the caller after
// Run returns, even from copy goroutines still draining a killed session.
// A failing writer is remembered, failed is closed (Run then kills the
// command), and later output is dropped, but the stream is still drained so
// the remote side never blocks on it.
type guard struct {
	mu             sync.Mutex
	closed         bool
	werr           error
	failed         chan struct{}
	stdout, stderr io.Writer
}

type guardWriter struct {
	g *guard
	w io.Writer
}

func newGuard(stdout, stderr io.Writer) *guard {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	g := &guard{failed: make(chan struct{})}
	g.stdout = &guardWriter{g: g, w: stdout}
	g.stderr = &guardWriter{g: g, w: stderr}
	return g
}

func (w *guardWriter) Write(p []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	if w.g.closed || w.g.werr != nil {
		return len(p), nil
	}
	n, err := w.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.g.werr = err
		close(w.g.failed)
	}
	return len(p), nil
}

func (g *guard) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (g *guard) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.werr
}

package envsync

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/smolvm/smolvm/env"
)

// decideFunc computes the new file from the current variables; nil bytes
// mean "no change" (the host answers "-" and the guest writes nothing).
type decideFunc func(current map[string]string) ([]byte, error)

// outcome is what one session produced.
type outcome struct {
	current  map[string]string // variables in the file before the operation
	present  bool              // whether the file existed
	wrote    bool              // whether the host sent a new file
	sent     int64             // bytes written to the guest's stdin
	received int64             // bytes read from the guest's stdout
}

// exchange runs one guest session: start the script, read the current
// file, send the answer decide gives (update mode only), collect the
// result. It always closes stdin, drains stdout and waits.
func (s *Syncer) exchange(ctx context.Context, r Runner, op string, m mode, decide decideFunc) (outcome, error) {
	var o outcome
	cmd, err := command(m, s.Lock, s.path())
	if err != nil {
		return o, err
	}
	if err := ctx.Err(); err != nil {
		return o, fmt.Errorf("envsync %s: %w", op, err)
	}
	stderr := &tailWriter{max: 2048}
	p, err := r.Start(ctx, cmd, stderr)
	if err != nil {
		return o, fmt.Errorf("envsync %s: start: %w", op, err)
	}
	in := &countWriter{w: p.Stdin}
	out := &countReader{r: p.Stdout}
	br := bufio.NewReader(out)
	hostErr, protoErr := s.talk(br, in, p.Stdin, op, m, decide, &o)
	_ = p.Stdin.Close()
	_, _ = io.Copy(io.Discard, br)
	waitErr := p.Wait()
	o.sent, o.received = in.n, out.n
	s.logger().Debug("envsync session", "op", op, "file", s.path(), "present", o.present,
		"wrote", o.wrote, "bytes_sent", o.sent, "bytes_received", o.received)
	switch {
	case hostErr != nil:
		return o, fmt.Errorf("envsync %s: %w", op, hostErr)
	case ctx.Err() != nil:
		return o, fmt.Errorf("envsync %s: %w", op, ctx.Err())
	case waitErr != nil:
		return o, &GuestError{Op: op, Message: stderr.String(), Err: waitErr}
	case protoErr != nil:
		return o, fmt.Errorf("envsync %s: %w", op, protoErr)
	}
	return o, nil
}

// talk is the protocol proper. A hostErr is a decision of the host (the
// guest then sees stdin close without a reply and commits nothing); a
// protoErr is guest output that makes no sense, usually explained better
// by the guest's exit status and stderr.
func (s *Syncer) talk(br *bufio.Reader, in io.Writer, stdin io.Closer, op string, m mode, decide decideFunc, o *outcome) (hostErr, protoErr error) {
	content, present, junk, err := readFrame(br, maxFrame)
	if err != nil {
		return nil, err
	}
	log := s.logger()
	if junk > 0 {
		log.Warn("envsync: guest printed before the frame", "op", op, "bytes", junk)
	}
	o.present = present
	if m == modeUpdate && len(content) > env.MaxFileSize {
		_, err := env.Parse(content) // the *env.SizeError naming the limit
		return err, nil
	}
	cur, skipped := env.ParseReport(content)
	for _, sk := range skipped {
		log.Warn("envsync: env file line skipped", "file", s.path(), "line", sk.Line, "key", sk.Key, "reason", sk.Reason)
	}
	o.current = cur
	if m == modeList {
		return nil, expectRest(br, "")
	}
	next, err := decide(cur)
	if err != nil {
		return err, nil
	}
	var msg []byte
	if next == nil {
		msg = []byte("-\n")
	} else {
		msg = append(strconv.AppendInt(nil, int64(len(next)), 10), '\n')
		msg = append(msg, next...)
		o.wrote = true
	}
	if _, err := in.Write(msg); err != nil {
		return nil, fmt.Errorf("%w: send: %w", ErrProtocol, err)
	}
	// EOF right after the message: a guest that got less than announced
	// sees its input end instead of waiting for bytes that never come.
	if err := stdin.Close(); err != nil {
		return nil, fmt.Errorf("%w: close stdin: %w", ErrProtocol, err)
	}
	return nil, expectRest(br, okLine)
}

// expectRest reads stdout to EOF and checks it is exactly want.
func expectRest(br *bufio.Reader, want string) error {
	rest, err := io.ReadAll(io.LimitReader(br, int64(len(want))+256))
	if err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	if !bytes.Equal(rest, []byte(want)) {
		return fmt.Errorf("%w: after the frame: got %d bytes, want %q", ErrProtocol, len(rest), want)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// tailWriter keeps the last max bytes written to it. Safe for one writer
// goroutine and a reader after that writer is done (os/exec and x/crypto/ssh
// finish copying stderr before Wait returns).
type tailWriter struct {
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// String returns the kept lines, trimmed and joined with "; ".
func (t *tailWriter) String() string {
	lines := strings.Split(string(bytes.TrimSpace(t.buf)), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "; ")
}

// Package vsock dials a guest vsock port through Firecracker's host-side
// unix socket ("hybrid vsock"): connect, send "CONNECT <port>\n", read the
// "OK <n>\n" reply, then the stream carries the guest connection.
package vsock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrRefused means Firecracker closed the connection instead of replying:
// nothing listens on that guest port (or the guest is not up yet).
var ErrRefused = errors.New("vsock connection refused")

// ErrBadReply means the reply line was not "OK <number>".
var ErrBadReply = errors.New("vsock: garbled handshake reply")

// maxReplyLine bounds the handshake reply ("OK " + a 32-bit number + "\n").
const maxReplyLine = 32

// Dial connects to guest port through the Firecracker vsock socket at
// udsPath. The handshake is bounded by ctx; the returned connection has no
// deadline. The number in Firecracker's "OK <n>" reply is the host-side port
// it assigned, not the guest port, and is not checked against port.
func Dial(ctx context.Context, udsPath string, port uint32) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", udsPath)
	if err != nil {
		return nil, fmt.Errorf("vsock dial %s: %w", udsPath, err)
	}
	if err := handshake(ctx, conn, port); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("vsock %s port %d: %w", udsPath, port, err)
	}
	return conn, nil
}

func handshake(ctx context.Context, conn net.Conn, port uint32) error {
	// A context cancellation interrupts blocked I/O through the deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "CONNECT "+strconv.FormatUint(uint64(port), 10)+"\n"); err != nil {
		return ctxErr(ctx, fmt.Errorf("send CONNECT: %w", err))
	}
	line, err := readLine(conn)
	if err != nil {
		return ctxErr(ctx, err)
	}
	if !stop() {
		return ctx.Err()
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return err
	}
	return parseOK(line)
}

// readLine reads one byte at a time so that no byte after the newline,
// which belongs to the guest stream, is consumed.
func readLine(r io.Reader) (string, error) {
	var buf [1]byte
	var line []byte
	for len(line) < maxReplyLine {
		n, err := r.Read(buf[:])
		if n == 1 {
			if buf[0] == '\n' {
				return string(line), nil
			}
			line = append(line, buf[0])
			continue
		}
		if errors.Is(err, io.EOF) || isReset(err) {
			if len(line) == 0 {
				return "", ErrRefused
			}
			return "", fmt.Errorf("%w: %q then EOF", ErrBadReply, line)
		}
		if err != nil {
			return "", fmt.Errorf("read reply: %w", err)
		}
	}
	return "", fmt.Errorf("%w: %q... (no newline)", ErrBadReply, line)
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// parseOK accepts exactly "OK <decimal>" (the handshake reply without its LF).
func parseOK(line string) error {
	rest, ok := strings.CutPrefix(line, "OK ")
	if !ok || rest == "" {
		return fmt.Errorf("%w: %q", ErrBadReply, line)
	}
	if _, err := strconv.ParseUint(rest, 10, 32); err != nil {
		return fmt.Errorf("%w: %q", ErrBadReply, line)
	}
	return nil
}

func ctxErr(ctx context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Only ctx sets the connection's deadline (its own deadline, or the
		// past when it is cancelled), so ctx is done or about to be: its
		// timer may fire a moment after the socket's.
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

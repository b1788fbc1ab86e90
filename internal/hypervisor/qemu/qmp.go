package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// maxQMPMessage bounds one QMP message (QEMU's largest replies, such as
// query-qmp-schema, are far below this).
const maxQMPMessage = 4 << 20

// QMPError is a command's error reply; Class and Desc are QMP's fields.
type QMPError struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

func (e *QMPError) Error() string { return "qmp: " + e.Class + ": " + e.Desc }

// ErrQMPProtocol is wrapped when the peer breaks the QMP protocol.
var ErrQMPProtocol = errors.New("qmp protocol error")

// QMP is a client connection to a QEMU monitor socket, past the
// capabilities handshake. Its methods are safe for concurrent use; commands
// run one at a time.
type QMP struct {
	mu      sync.Mutex
	conn    net.Conn
	sc      *bufio.Scanner
	nextID  int
	Version string // QEMU's version from the greeting, e.g. "7.2.22"
}

// Message kinds parseQMPMessage recognises.
const (
	qmpGreeting = "greeting"
	qmpReturn   = "return"
	qmpErrorMsg = "error"
	qmpEvent    = "event"
)

type qmpMessage struct {
	QMP *struct {
		Version struct {
			QEMU struct {
				Major, Minor, Micro int
			} `json:"qemu"`
		} `json:"version"`
	} `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Error  *QMPError       `json:"error"`
	Event  string          `json:"event"`
	ID     json.RawMessage `json:"id"`
}

// parseQMPMessage decodes one line from the monitor and says what it is.
func parseQMPMessage(line []byte) (qmpMessage, string, error) {
	var m qmpMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return m, "", fmt.Errorf("%w: %w", ErrQMPProtocol, err)
	}
	switch {
	case m.QMP != nil:
		return m, qmpGreeting, nil
	case m.Error != nil:
		return m, qmpErrorMsg, nil
	case m.Return != nil:
		return m, qmpReturn, nil
	case m.Event != "":
		return m, qmpEvent, nil
	}
	return m, "", fmt.Errorf("%w: unrecognised message %.80q", ErrQMPProtocol, line)
}

// DialQMP connects to the QMP socket at path, reads the greeting and
// negotiates capabilities. ctx bounds the whole handshake.
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("qmp dial: %w", err)
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 64<<10), maxQMPMessage)
	q := &QMP{conn: conn, sc: sc}
	if err := q.handshake(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return q, nil
}

func (q *QMP) handshake(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.bind(ctx)()
	m, kind, err := q.read(ctx)
	if err != nil {
		return fmt.Errorf("qmp greeting: %w", err)
	}
	if kind != qmpGreeting {
		return fmt.Errorf("%w: expected greeting, got %s", ErrQMPProtocol, kind)
	}
	v := m.QMP.Version.QEMU
	q.Version = fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
	if _, err := q.execute(ctx, "qmp_capabilities", nil); err != nil {
		return fmt.Errorf("qmp_capabilities: %w", err)
	}
	return nil
}

// Execute runs one command with optional arguments (nil for none) and
// returns its "return" value. Asynchronous events that arrive first are
// skipped. An error reply is a *QMPError.
func (q *QMP) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.bind(ctx)()
	return q.execute(ctx, command, args)
}

func (q *QMP) execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	q.nextID++
	id := "smolvm-" + strconv.Itoa(q.nextID)
	req := map[string]any{"execute": command, "id": id}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, ctxErr(ctx, err))
	}
	for {
		m, kind, err := q.read(ctx)
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", command, err)
		}
		switch kind {
		case qmpEvent:
			continue
		case qmpReturn, qmpErrorMsg:
			if string(m.ID) != strconv.Quote(id) {
				return nil, fmt.Errorf("%w: reply id %s, want %q", ErrQMPProtocol, m.ID, id)
			}
			if m.Error != nil {
				return nil, m.Error
			}
			return m.Return, nil
		default:
			return nil, fmt.Errorf("%w: unexpected %s", ErrQMPProtocol, kind)
		}
	}
}

func (q *QMP) read(ctx context.Context) (qmpMessage, string, error) {
	if !q.sc.Scan() {
		err := q.sc.Err()
		if err == nil {
			err = fmt.Errorf("connection closed: %w", net.ErrClosed)
		}
		return qmpMessage{}, "", ctxErr(ctx, err)
	}
	return parseQMPMessage(q.sc.Bytes())
}

// bind makes ctx's deadline and cancellation interrupt I/O on the
// connection; the returned func undoes it.
func (q *QMP) bind(ctx context.Context) func() {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	_ = q.conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = q.conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// ctxErr prefers the context's error when it caused the I/O failure. The
// connection's deadline is only ever the context's, so a deadline error is
// the context's deadline even when its timer has not fired yet.
func ctxErr(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return fmt.Errorf("%w (%w)", e, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return err
}

// Close closes the connection.
func (q *QMP) Close() error { return q.conn.Close() }

package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeQMP is a strict QMP peer on a unix socket: it greets, refuses every
// command before qmp_capabilities, answers only the scripted commands and
// records protocol violations as test failures.
type fakeQMP struct {
	t      *testing.T
	path   string
	ln     net.Listener
	mu     sync.Mutex
	seen   []string
	events int // events sent before each reply
	// replies maps a command to the JSON of its reply body, e.g.
	// `"return": {}` or `"error": {"class": ..., "desc": ...}`.
	replies map[string]string
	silent  bool // never greet (a hung QEMU)
	wg      sync.WaitGroup
}

func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "smolvm-qmp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// newFakeQMP starts a peer; opts adjust it before it serves anyone.
func newFakeQMP(t *testing.T, replies map[string]string, opts ...func(*fakeQMP)) *fakeQMP {
	t.Helper()
	f := &fakeQMP{t: t, path: filepath.Join(shortTempDir(t), "qmp.sock"), replies: replies}
	for _, o := range opts {
		o(f)
	}
	ln, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeQMP) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() { defer f.wg.Done(); f.session(c) }()
	}
}

func (f *fakeQMP) session(c net.Conn) {
	defer c.Close()
	if f.silent {
		_, _ = bufio.NewReader(c).ReadString(0)
		return
	}
	w := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
	w(`{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": ["oob"]}}`)
	sc := bufio.NewScanner(c)
	negotiated := false
	for sc.Scan() {
		var req struct {
			Execute   string          `json:"execute"`
			Arguments json.RawMessage `json:"arguments"`
			ID        json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			f.t.Errorf("fake qmp: bad request %q: %v", sc.Bytes(), err)
			return
		}
		f.mu.Lock()
		f.seen = append(f.seen, req.Execute)
		f.mu.Unlock()
		id := ""
		if req.ID != nil {
			id = `, "id": ` + string(req.ID)
		}
		if !negotiated && req.Execute != "qmp_capabilities" {
			f.t.Errorf("fake qmp: %q before qmp_capabilities", req.Execute)
			w(`{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}` + id + `}`)
			continue
		}
		if req.Execute == "qmp_capabilities" {
			if negotiated {
				f.t.Errorf("fake qmp: qmp_capabilities twice")
			}
			negotiated = true
			w(`{"return": {}` + id + `}`)
			continue
		}
		for i := 0; i < f.events; i++ {
			w(`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RTC_CHANGE", "data": {"offset": 0}}`)
		}
		body, ok := f.replies[req.Execute]
		if !ok {
			body = `"error": {"class": "CommandNotFound", "desc": "The command ` + req.Execute + ` has not been found"}`
		}
		w(`{` + body + id + `}`)
		if req.Execute == "quit" {
			return
		}
	}
}

func (f *fakeQMP) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func TestQMPHandshakeAndExecute(t *testing.T) {
	f := newFakeQMP(t, map[string]string{"query-status": `"return": {"status": "running", "running": true}`},
		func(f *fakeQMP) { f.events = 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := DialQMP(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.Version != "7.2.22" {
		t.Errorf("version %q, want 7.2.22", q.Version)
	}
	ret, err := q.Execute(ctx, "query-status", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Status string }
	if err := json.Unmarshal(ret, &st); err != nil || st.Status != "running" {
		t.Fatalf("return %s (%v), want status running", ret, err)
	}
	if got := strings.Join(f.commands(), ","); got != "qmp_capabilities,query-status" {
		t.Errorf("peer saw %s", got)
	}
}

func TestQMPErrorCarriesClassAndDesc(t *testing.T) {
	f := newFakeQMP(t, map[string]string{
		"device_del": `"error": {"class": "DeviceNotFound", "desc": "Device 'x' not found"}`,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := DialQMP(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	_, err = q.Execute(ctx, "device_del", map[string]string{"id": "x"})
	var qe *QMPError
	if !errors.As(err, &qe) || qe.Class != "DeviceNotFound" || qe.Desc != "Device 'x' not found" {
		t.Fatalf("err = %v, want QMPError DeviceNotFound", err)
	}
	// The connection stays usable after an error reply.
	if _, err := q.Execute(ctx, "nonesuch", nil); !errors.As(err, &qe) || qe.Class != "CommandNotFound" {
		t.Fatalf("err = %v, want CommandNotFound", err)
	}
}

func TestQMPHungPeerHonoursContext(t *testing.T) {
	f := newFakeQMP(t, nil, func(f *fakeQMP) { f.silent = true })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := DialQMP(ctx, f.path)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestQMPNoSocket(t *testing.T) {
	_, err := DialQMP(context.Background(), filepath.Join(shortTempDir(t), "absent.sock"))
	if err == nil || !strings.Contains(err.Error(), "qmp dial") {
		t.Fatalf("err = %v, want dial error", err)
	}
}

func TestParseQMPMessage(t *testing.T) {
	cases := []struct {
		name, line, kind string
		bad              bool
	}{
		{"greeting", `{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}`, qmpGreeting, false},
		{"return object", `{"return": {}, "id": "smolvm-1"}`, qmpReturn, false},
		{"return null", `{"return": null}`, qmpReturn, false},
		{"return list", `{"return": [1,2]}`, qmpReturn, false},
		{"error", `{"error": {"class": "GenericError", "desc": "x"}}`, qmpErrorMsg, false},
		{"event", `{"event": "SHUTDOWN", "data": {"guest": true}, "timestamp": {"seconds": 1, "microseconds": 0}}`, qmpEvent, false},
		{"unknown object", `{"hello": 1}`, "", true},
		{"not json", `QEMU 7.2 monitor`, "", true},
		{"array", `[]`, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, kind, err := parseQMPMessage([]byte(c.line))
			if c.bad {
				if !errors.Is(err, ErrQMPProtocol) {
					t.Fatalf("err = %v, want ErrQMPProtocol", err)
				}
				return
			}
			if err != nil || kind != c.kind {
				t.Fatalf("kind %q err %v, want %q", kind, err, c.kind)
			}
		})
	}
}

// FuzzParseQMPMessage checks the monitor line parser never panics and
// classifies every accepted line as exactly one known kind.
func FuzzParseQMPMessage(f *testing.F) {
	for _, s := range []string{
		`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}}}`,
		`{"return": {}, "id": "smolvm-1"}`,
		`{"error": {"class": "GenericError", "desc": "x"}}`,
		`{"event": "SHUTDOWN"}`, `{}`, `null`, `{"return": null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, kind, err := parseQMPMessage(b)
		if err != nil {
			if !errors.Is(err, ErrQMPProtocol) {
				t.Fatalf("error %v does not wrap ErrQMPProtocol", err)
			}
			return
		}
		switch kind {
		case qmpGreeting:
			if m.QMP == nil {
				t.Fatal("greeting without QMP")
			}
		case qmpErrorMsg:
			if m.Error == nil {
				t.Fatal("error without error")
			}
		case qmpReturn:
			if m.Return == nil {
				t.Fatal("return without return")
			}
		case qmpEvent:
			if m.Event == "" {
				t.Fatal("event without name")
			}
		default:
			t.Fatalf("unknown kind %q", kind)
		}
	})
}

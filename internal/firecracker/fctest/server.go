package fctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Call is one request the fake received, in arrival order.
type Call struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
	Status int             `json:"status"`
}

// String is "METHOD /path".
func (c Call) String() string { return c.Method + " " + c.Path }

// Instance states, as GET / reports them.
const (
	NotStarted = "Not started"
	Running    = "Running"
	Paused     = "Paused"
)

// Server is a strict fake Firecracker API. The zero value is not usable;
// use NewServer.
type Server struct {
	spec *Spec

	mu       sync.Mutex
	calls    []Call
	state    string
	booted   bool // InstanceStart happened (or a snapshot was loaded)
	kernel   bool // boot-source set
	touched  bool // anything configured (snapshot/load must come first)
	vsock    string
	override string
	faults   map[string]fault
	onAction func(action string)
	onCall   func(c Call)
}

type fault struct {
	status int
	msg    string
}

// NewServer returns a fake serving the given spec.
func NewServer(spec *Spec) *Server {
	return &Server{spec: spec, state: NotStarted, faults: map[string]fault{}}
}

// Fault makes the next and every later "METHOD /path" request fail with
// status and {"fault_message": msg}, after body validation.
func (s *Server) Fault(method, path string, status int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[strings.ToUpper(method)+" "+path] = fault{status, msg}
}

// OnAction registers f to run on each accepted PUT /actions, before the reply (for
// example to exit on SendCtrlAltDel).
func (s *Server) OnAction(f func(action string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onAction = f
}

// OnCall registers f to run on every request, with the recorded call,
// before the reply is written.
func (s *Server) OnCall(f func(c Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCall = f
}

// Calls returns a copy of the calls received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// State is the instance state GET / would report.
func (s *Server) State() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// VsockPath is the uds_path accepted by PUT /vsock, "" if none.
func (s *Server) VsockPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vsock
}

// VsockOverride is the vsock_override.uds_path of an accepted snapshot
// load, "" if none.
func (s *Server) VsockOverride() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.override
}

// Serve serves the fake on l until l is closed.
func (s *Server) Serve(l net.Listener) error {
	srv := &http.Server{Handler: s} //nolint:gosec // test server on a unix socket
	err := srv.Serve(l)
	if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeFault(w, http.StatusBadRequest, "cannot read body")
		return
	}
	status, reply, msg := s.handle(r.Method, r.URL.Path, body)
	s.mu.Lock()
	call := Call{Method: r.Method, Path: r.URL.Path, Body: rawOrNil(body), Status: status}
	s.calls = append(s.calls, call)
	hook, callHook := s.onAction, s.onCall
	s.mu.Unlock()
	// Hooks run before the reply is written, so a client that saw the
	// reply also sees their effects (as with the real server, whose side
	// effects happen before it answers).
	if status == http.StatusNoContent && r.Method == http.MethodPut && r.URL.Path == "/actions" && hook != nil {
		var a struct {
			ActionType string `json:"action_type"`
		}
		_ = json.Unmarshal(body, &a)
		hook(a.ActionType)
	}
	if callHook != nil {
		callHook(call)
	}
	switch {
	case status >= 400:
		writeFault(w, status, msg)
	case reply != nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(reply)
	default:
		w.WriteHeader(status)
	}
}

func rawOrNil(b []byte) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return json.RawMessage(b)
}

func writeFault(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"fault_message": msg})
}

// handle applies validation, id checks, injected faults and the state rules.
func (s *Server) handle(method, path string, body []byte) (int, any, string) {
	tmpl, params, ok := s.spec.route(path)
	if !ok || !s.spec.Has(method, tmpl) {
		return http.StatusBadRequest, nil, fmt.Sprintf("Invalid request method and/or path: %s %s.", method, path)
	}
	if err := s.spec.ValidateBody(method, path, body); err != nil {
		return http.StatusBadRequest, nil, "An error occurred when deserializing the json body of a request: " + err.Error()
	}
	if msg := idMismatch(params, body); msg != "" {
		return http.StatusBadRequest, nil, msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.faults[method+" "+path]; ok {
		return f.status, nil, f.msg
	}
	return s.apply(method, tmpl, body)
}

func idMismatch(params map[string]string, body []byte) string {
	for _, key := range []string{"drive_id", "iface_id"} {
		want, ok := params[key]
		if !ok {
			continue
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			continue
		}
		if got, ok := m[key].(string); ok && got != want {
			return "The id from the path does not match the id from the body!"
		}
	}
	return ""
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

func TestCRUD(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	fixedClock(s, &now)

	in := VM{ID: "web", Backend: "qemu", Dir: "/data/vms/web", Ephemeral: true,
		Config: json.RawMessage(`{"vcpus":2,"env_keys":["A"]}`)}
	if err := s.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "api")

	got, err := s.Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	want := VM{ID: "web", State: StateCreated, Backend: "qemu", Dir: "/data/vms/web", Ephemeral: true,
		Config: in.Config, CreatedAt: now, UpdatedAt: now}
	assertVM(t, got, want)

	h := hypervisor.Handle{Backend: "qemu", PID: 4242, StartTime: 987654321, Control: "/data/vms/web/qmp.sock",
		Transport: hypervisor.Transport{Kind: "tcp", Addr: "127.0.0.1:40022"}, Accel: "tcg"}
	later := now.Add(time.Minute)
	now = later
	if err := s.SetState(ctx, "web", StateStarting, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHandle(ctx, "web", h); err != nil {
		t.Fatal(err)
	}
	if err := s.SetState(ctx, "web", StateError, "boot timed out"); err != nil {
		t.Fatal(err)
	}
	want.Handle, want.State, want.LastError, want.UpdatedAt = h, StateError, "boot timed out", later
	got, err = s.Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	assertVM(t, got, want)

	// A later legal move with an empty lastErr clears it.
	if err := s.SetState(ctx, "web", StateStopped, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "web"); got.LastError != "" || got.State != StateStopped {
		t.Fatalf("after stop: state %s, last error %q", got.State, got.LastError)
	}

	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "api" || list[1].ID != "web" {
		t.Fatalf("List = %v, want api, web", ids(list))
	}

	if err := s.Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "web"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Fatalf("List after Delete = %v", ids(list))
	}
}

func TestEmptyConfigAndList(t *testing.T) {
	s := openTemp(t)
	if list, err := s.List(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("List of empty store = %v, %v", list, err)
	}
	mustCreate(t, s, "vm")
	v, err := s.Get(t.Context(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	if string(v.Config) != "{}" || v.Handle != (hypervisor.Handle{}) {
		t.Fatalf("config %s, handle %+v", v.Config, v.Handle)
	}
}

func TestDuplicateCreate(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if err := s.Create(ctx, VM{ID: "dup", Backend: "qemu", Dir: "/first"}); err != nil {
		t.Fatal(err)
	}
	err := s.Create(ctx, VM{ID: "dup", Backend: "firecracker", Dir: "/second"})
	if !errors.Is(err, ErrAlreadyExists) || !strings.Contains(err.Error(), "dup") {
		t.Fatalf("second Create: %v, want ErrAlreadyExists naming dup", err)
	}
	v, err := s.Get(ctx, "dup")
	if err != nil {
		t.Fatal(err)
	}
	if v.Dir != "/first" || v.Backend != "qemu" {
		t.Fatalf("duplicate Create changed the VM: %+v", v)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	s := openTemp(t)
	for _, tc := range []struct {
		name    string
		vm      VM
		wantErr error
		naming  string
	}{
		{"empty id", VM{}, nil, "empty id"},
		{"non-created state", VM{ID: "a", State: StateRunning}, ErrInvalidState, "a"},
		{"invalid config json", VM{ID: "b", Config: json.RawMessage(`{"x":`)}, nil, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Create(t.Context(), tc.vm)
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.naming) {
				t.Fatalf("error %q does not mention %q", err, tc.naming)
			}
			if list, _ := s.List(t.Context()); len(list) != 0 {
				t.Fatalf("refused Create recorded %v", ids(list))
			}
		})
	}
}

// TestMissingVM checks every operation on an unknown id fails with
// ErrNotFound and names the id.
func TestMissingVM(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	for name, op := range map[string]func() error{
		"Get":       func() error { _, err := s.Get(ctx, "ghost"); return err },
		"SetHandle": func() error { return s.SetHandle(ctx, "ghost", hypervisor.Handle{PID: 1}) },
		"SetState":  func() error { return s.SetState(ctx, "ghost", StateStarting, "") },
		"Delete":    func() error { return s.Delete(ctx, "ghost") },
		"LeasePort": func() error { _, err := s.LeasePort(ctx, "ghost"); return err },
		"LeaseIP":   func() error { _, err := s.LeaseIP(ctx, "ghost"); return err },
		"IP":        func() error { _, err := s.IP(ctx, "ghost"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := op()
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ghost") {
				t.Fatalf("%v, want ErrNotFound naming ghost", err)
			}
		})
	}
}

func assertVM(t *testing.T, got, want VM) {
	t.Helper()
	gc, wc := got.Config, want.Config
	got.Config, want.Config = nil, nil
	if !jsonEqual(t, gc, wc) {
		t.Errorf("config %s, want %s", gc, wc)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("times %v/%v, want %v/%v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got.ID != want.ID || got.State != want.State || got.Backend != want.Backend || got.Dir != want.Dir ||
		got.Ephemeral != want.Ephemeral || got.Handle != want.Handle || got.LastError != want.LastError {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func ids(vms []VM) []string {
	var out []string
	for _, v := range vms {
		out = append(out, v.ID)
	}
	return out
}

// A new start must not carry the previous boot's handle: another process's
// Reconcile would judge the new start dead by the old, dead PID.
func TestStartingClearsHandle(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/s.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Create(ctx, VM{ID: "a", Backend: "qemu", Dir: "/d"}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []State{StateStarting, StateRunning, StateStopped} {
		if err := s.SetState(ctx, "a", step, ""); err != nil {
			t.Fatal(err)
		}
		if step == StateStarting {
			if err := s.SetHandle(ctx, "a", hypervisor.Handle{Backend: "qemu", PID: 99999999, StartTime: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.SetState(ctx, "a", StateStarting, ""); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get(ctx, "a")
	if err != nil || v.Handle.PID != 0 {
		t.Fatalf("after a new start the old handle remains: %+v, %v", v.Handle, err)
	}
	changes, err := s.Reconcile(ctx, func(hypervisor.Handle) bool { t.Error("alive asked about a start without a handle"); return false })
	if err != nil || len(changes) != 0 {
		t.Errorf("Reconcile during a fresh start = %v, %v; want no change", changes, err)
	}
}

package store

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

func TestReconcile(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	fixedClock(s, &now)

	type vmCase struct {
		id        string
		state     State
		pid       int // 0: no handle
		alive     bool
		ephemeral bool
		old       bool // last updated longer than StaleAfter ago
		// expectations
		want       State
		reported   bool
		askedAlive bool
	}
	cases := []vmCase{
		{id: "running-alive", state: StateRunning, pid: 101, alive: true, want: StateRunning, askedAlive: true},
		{id: "running-dead", state: StateRunning, pid: 102, want: StateStopped, reported: true, askedAlive: true},
		{id: "starting-dead", state: StateStarting, pid: 103, want: StateError, reported: true, askedAlive: true},
		{id: "starting-alive", state: StateStarting, pid: 104, alive: true, want: StateStarting, askedAlive: true},
		{id: "stopping-dead", state: StateStopping, pid: 105, want: StateStopped, reported: true, askedAlive: true},
		{id: "starting-nohandle-fresh", state: StateStarting, want: StateStarting},
		{id: "starting-nohandle-stale", state: StateStarting, old: true, want: StateError, reported: true},
		{id: "created", state: StateCreated, want: StateCreated},
		{id: "stopped", state: StateStopped, pid: 106, want: StateStopped},
		{id: "error", state: StateError, pid: 107, want: StateError},
		{id: "eph-running-dead", state: StateRunning, pid: 108, ephemeral: true, want: StateStopped, reported: true, askedAlive: true},
		{id: "eph-stopped-fresh", state: StateStopped, ephemeral: true, want: StateStopped},
		{id: "eph-stopped-stale", state: StateStopped, ephemeral: true, old: true, want: StateStopped, reported: true},
		{id: "eph-error-stale", state: StateError, ephemeral: true, old: true, want: StateError, reported: true},
		{id: "eph-created-stale", state: StateCreated, ephemeral: true, old: true, want: StateCreated},
	}
	byPID := map[int]vmCase{}
	for _, c := range cases {
		now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		if c.old {
			now = now.Add(-StaleAfter - time.Second)
		}
		if err := s.Create(ctx, VM{ID: c.id, Backend: "qemu", Dir: "/vms/" + c.id, Ephemeral: c.ephemeral}); err != nil {
			t.Fatal(err)
		}
		force(t, s, c.id, c.state)
		if c.pid != 0 {
			if err := s.SetHandle(ctx, c.id, hypervisor.Handle{Backend: "qemu", PID: c.pid, StartTime: uint64(c.pid) * 7}); err != nil {
				t.Fatal(err)
			}
			byPID[c.pid] = c
		}
	}
	now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

	var asked []string
	alive := func(h hypervisor.Handle) bool {
		c, ok := byPID[h.PID]
		if !ok || h.StartTime != uint64(h.PID)*7 {
			t.Errorf("alive called with an unknown handle %+v", h)
			return false
		}
		asked = append(asked, c.id)
		return c.alive
	}
	changes, err := s.Reconcile(ctx, alive)
	if err != nil {
		t.Fatal(err)
	}

	got := map[string]Change{}
	for _, ch := range changes {
		got[ch.ID] = ch
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			v, err := s.Get(ctx, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if v.State != c.want {
				t.Errorf("state %s, want %s", v.State, c.want)
			}
			if slices.Contains(asked, c.id) != c.askedAlive {
				t.Errorf("alive asked: %v, want %v", slices.Contains(asked, c.id), c.askedAlive)
			}
			ch, reported := got[c.id]
			if reported != c.reported {
				t.Fatalf("reported %v (%+v), want %v", reported, ch, c.reported)
			}
			if !reported {
				return
			}
			want := Change{ID: c.id, From: c.state, To: c.want, Ephemeral: c.ephemeral, Dir: "/vms/" + c.id}
			if ch != want {
				t.Errorf("change %+v, want %+v", ch, want)
			}
			if c.want != c.state && !strings.Contains(v.LastError, "exited") {
				t.Errorf("last error %q does not say the process exited", v.LastError)
			}
		})
	}

	// Later passes: at the same time nothing moves and only the stale
	// ephemeral leftovers are reported again (until the caller deletes them);
	// past StaleAfter the fresh ones have gone stale too.
	for _, pass := range []struct {
		name     string
		advance  time.Duration
		reported []string
		moved    []string
	}{
		{"same time", 0, []string{"eph-error-stale", "eph-stopped-stale"}, nil},
		{"after StaleAfter", StaleAfter + time.Second,
			[]string{"eph-error-stale", "eph-running-dead", "eph-stopped-fresh", "eph-stopped-stale", "starting-nohandle-fresh"},
			[]string{"starting-nohandle-fresh"}},
	} {
		now = now.Add(pass.advance)
		again, err := s.Reconcile(ctx, alive)
		if err != nil {
			t.Fatal(err)
		}
		var reported, moved []string
		for _, ch := range again {
			reported = append(reported, ch.ID)
			if ch.From != ch.To {
				moved = append(moved, ch.ID)
			} else if !ch.Ephemeral {
				t.Errorf("%s: a non-ephemeral VM reported without a move: %+v", pass.name, ch)
			}
		}
		slices.Sort(reported)
		if !slices.Equal(reported, pass.reported) || !slices.Equal(moved, pass.moved) {
			t.Errorf("%s: reported %v moved %v, want %v moved %v", pass.name, reported, moved, pass.reported, pass.moved)
		}
	}
}

// TestReconcileSkipsChangedVM checks that a VM another process moved
// between Reconcile's read and its write is left alone.
func TestReconcileSkipsChangedVM(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	mustCreate(t, s, "vm")
	force(t, s, "vm", StateRunning)
	if err := s.SetHandle(ctx, "vm", hypervisor.Handle{PID: 10, StartTime: 1}); err != nil {
		t.Fatal(err)
	}
	changes, err := s.Reconcile(ctx, func(hypervisor.Handle) bool {
		// Meanwhile another process restarted the VM with a new process.
		force(t, s, "vm", StateStopped)
		if err := s.SetState(ctx, "vm", StateStarting, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.SetHandle(ctx, "vm", hypervisor.Handle{PID: 11, StartTime: 2}); err != nil {
			t.Fatal(err)
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 {
		t.Fatalf("changes %+v, want none", changes)
	}
	if v, _ := s.Get(ctx, "vm"); v.State != StateStarting || v.Handle.PID != 11 {
		t.Fatalf("VM changed by reconcile: %+v", v)
	}
}

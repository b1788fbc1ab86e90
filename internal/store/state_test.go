package store

import (
	"errors"
	"strings"
	"testing"
)

// allowed is the transition table as the lifecycle design states it, written
// out independently of the table in state.go.
var allowed = map[[2]State]string{
	{StateCreated, StateStarting}:  "first start",
	{StateCreated, StateError}:     "setup failed before starting",
	{StateStarting, StateRunning}:  "guest reachable",
	{StateStarting, StateStopping}: "stop while booting",
	{StateStarting, StateStopped}:  "start aborted or process gone",
	{StateStarting, StateError}:    "start failed",
	{StateRunning, StateStopping}:  "stop requested",
	{StateRunning, StateStopped}:   "process died",
	{StateRunning, StateError}:     "failed while running",
	{StateStopping, StateStopped}:  "stop finished",
	{StateStopping, StateError}:    "stop failed",
	{StateStopped, StateStarting}:  "restart",
	{StateError, StateStarting}:    "retry",
	{StateError, StateStopped}:     "cleared",
}

// TestTransitions checks every ordered pair of states (self-moves included)
// both in CanTransition and through SetState on a real database.
func TestTransitions(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	for _, from := range States {
		for _, to := range States {
			_, want := allowed[[2]State{from, to}]
			name := string(from) + "->" + string(to)
			t.Run(name, func(t *testing.T) {
				if got := CanTransition(from, to); got != want {
					t.Fatalf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
				}
				id := "vm-" + string(from) + "-" + string(to)
				mustCreate(t, s, id)
				force(t, s, id, from)
				err := s.SetState(ctx, id, to, "why")
				v, gerr := s.Get(ctx, id)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if want {
					if err != nil {
						t.Fatalf("SetState: %v", err)
					}
					if v.State != to || v.LastError != "why" {
						t.Fatalf("after move: state %s, last error %q", v.State, v.LastError)
					}
					return
				}
				if !errors.Is(err, ErrInvalidState) {
					t.Fatalf("SetState error = %v, want ErrInvalidState", err)
				}
				for _, part := range []string{id, string(from) + " -> " + string(to)} {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q does not name %q", err, part)
					}
				}
				if v.State != from || v.LastError != "" {
					t.Fatalf("refused move changed the VM: state %s, last error %q", v.State, v.LastError)
				}
			})
		}
	}
}

func TestTransitionsUnknownState(t *testing.T) {
	s := openTemp(t)
	mustCreate(t, s, "vm")
	for _, tc := range []struct {
		name     string
		from, to State
	}{
		{"unknown target", StateCreated, "paused"},
		{"empty target", StateCreated, ""},
		{"unknown source", "paused", StateStarting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if CanTransition(tc.from, tc.to) {
				t.Fatalf("CanTransition(%q, %q) = true", tc.from, tc.to)
			}
		})
	}
	if err := s.SetState(t.Context(), "vm", "paused", ""); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("SetState to unknown state: %v, want ErrInvalidState", err)
	}
}

// TestStateListComplete guards against a state added to States without a
// row in the transition table (or the reverse).
func TestStateListComplete(t *testing.T) {
	if len(States) != len(transitions) {
		t.Fatalf("%d states, %d transition rows", len(States), len(transitions))
	}
	for _, st := range States {
		if !st.Valid() {
			t.Errorf("%s has no transition row", st)
		}
	}
	live := map[State]bool{StateStarting: true, StateRunning: true, StateStopping: true}
	for _, st := range States {
		if st.Live() != live[st] {
			t.Errorf("%s.Live() = %v", st, st.Live())
		}
	}
}

package store

import "fmt"

// State is a VM's lifecycle state as recorded in the store.
type State string

// The VM states.
const (
	// StateCreated: recorded, disk prepared, never started.
	StateCreated State = "created"
	// StateStarting: the hypervisor is being launched or the guest is booting.
	StateStarting State = "starting"
	// StateRunning: the guest answered over SSH.
	StateRunning State = "running"
	// StateStopping: a stop is in progress.
	StateStopping State = "stopping"
	// StateStopped: no hypervisor process; the disk is kept.
	StateStopped State = "stopped"
	// StateError: a start failed or the VM died while starting; LastError says why.
	StateError State = "error"
)

// States lists every state, in lifecycle order.
var States = []State{StateCreated, StateStarting, StateRunning, StateStopping, StateStopped, StateError}

// transitions is the one table of legal state moves. A move not listed here
// is refused by SetState. Self-moves are never legal: making a repeated Stop
// or Start idempotent is the caller's job (it can ask CanTransition first).
//
//	created  -> starting   first start
//	created  -> error      setup failed before the first start
//	starting -> running    guest reachable
//	starting -> stopping   stop requested while booting
//	starting -> stopped    start aborted cleanly, or the process was gone (reconcile)
//	starting -> error      start failed, or the process died while starting (reconcile)
//	running  -> stopping   stop requested
//	running  -> stopped    the process died (reconcile) or was killed
//	running  -> error      the VM failed while running
//	stopping -> stopped    stop finished (also reconcile: the process is gone)
//	stopping -> error      stop failed (the process could not be verified gone)
//	stopped  -> starting   restart
//	error    -> starting   retry
//	error    -> stopped    cleared (e.g. reconcile, or a stop of a failed VM)
var transitions = map[State][]State{
	StateCreated:  {StateStarting, StateError},
	StateStarting: {StateRunning, StateStopping, StateStopped, StateError},
	StateRunning:  {StateStopping, StateStopped, StateError},
	StateStopping: {StateStopped, StateError},
	StateStopped:  {StateStarting},
	StateError:    {StateStarting, StateStopped},
}

// CanTransition reports whether the transition table allows moving a VM
// from one state to another. Unknown states never transition.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is one of States.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Live reports whether a VM in state s is expected to have a running
// hypervisor process (starting, running or stopping).
func (s State) Live() bool {
	return s == StateStarting || s == StateRunning || s == StateStopping
}

// checkTransition returns nil or an error wrapping ErrInvalidState that names
// both states (the caller adds the VM id).
func checkTransition(from, to State) error {
	if !to.Valid() {
		return fmt.Errorf("unknown state %q: %w", to, ErrInvalidState)
	}
	if !CanTransition(from, to) {
		return fmt.Errorf("%s -> %s: %w", from, to, ErrInvalidState)
	}
	return nil
}

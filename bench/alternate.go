package main

import (
	"context"
	"fmt"
	"time"
)

// Arm is one of the things a comparison measures. Run does one repetition
// and returns how long the measured part took (see Timed); an error counts
// as a failure and its time is not kept.
type Arm struct {
	Name string
	Run  func(ctx context.Context) (time.Duration, error)
}

// Timed wraps f as an Arm body that measures f's whole wall time.
func Timed(f func(ctx context.Context) error) func(context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		err := f(ctx)
		return time.Since(start), err
	}
}

// Samples is what Alternate measured for one arm.
type Samples struct {
	Times    []time.Duration // successful repetitions, in run order
	Failures int             // repetitions that returned an error
	FirstErr error           // the first failure, for the report
}

// Alternate runs rounds rounds of every arm in turn (A, B, C, A, B, C, ...),
// so drift on a shared machine hits every arm alike, and returns each
// arm's samples by name. It stops early, with ctx's error, when ctx ends;
// what was measured until then is returned.
func Alternate(ctx context.Context, rounds int, arms ...Arm) (map[string]*Samples, error) {
	out := make(map[string]*Samples, len(arms))
	for _, a := range arms {
		if _, dup := out[a.Name]; dup {
			return nil, fmt.Errorf("alternate: arm %q named twice", a.Name)
		}
		out[a.Name] = &Samples{}
	}
	for range rounds {
		for _, a := range arms {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			d, err := a.Run(ctx)
			s := out[a.Name]
			if err != nil {
				s.Failures++
				if s.FirstErr == nil {
					s.FirstErr = err
				}
				continue
			}
			s.Times = append(s.Times, d)
		}
	}
	return out, nil
}

package sshx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Readiness backoff: the first retry comes after readyFirstDelay, each later
// one after twice the previous delay, capped at readyMaxDelay.
const (
	readyFirstDelay = 5 * time.Millisecond
	readyMaxDelay   = 500 * time.Millisecond
)

// Attempt is one failed readiness attempt.
type Attempt struct {
	At  time.Duration // offset from the start of WaitReady
	Err error
}

// NotReadyError is WaitReady's error: every failed attempt, and why it
// stopped trying.
type NotReadyError struct {
	Attempts []Attempt
	// Cause is why WaitReady gave up: the context's error (wrapped with
	// ErrTimeout for a deadline) or a hard error such as a host key mismatch.
	Cause error
}

// Error lists the attempts compactly: consecutive attempts that failed
// with the same message are collapsed into one "+first..+last (xN)" entry.
func (e *NotReadyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ssh not ready: %v; %d attempts:", e.Cause, len(e.Attempts))
	for i := 0; i < len(e.Attempts); {
		j := i
		for j+1 < len(e.Attempts) && e.Attempts[j+1].Err.Error() == e.Attempts[i].Err.Error() {
			j++
		}
		if j == i {
			fmt.Fprintf(&b, " [+%v %v]", round(e.Attempts[i].At), e.Attempts[i].Err)
		} else {
			fmt.Fprintf(&b, " [+%v..+%v (x%d) %v]", round(e.Attempts[i].At), round(e.Attempts[j].At), j-i+1, e.Attempts[i].Err)
		}
		i = j + 1
	}
	return b.String()
}

// Unwrap returns Cause and the last attempt's error, so errors.Is finds
// ErrTimeout, context errors and ErrHostKeyMismatch.
func (e *NotReadyError) Unwrap() []error {
	errs := []error{e.Cause}
	if n := len(e.Attempts); n > 0 {
		errs = append(errs, e.Attempts[n-1].Err)
	}
	return errs
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// WaitReady waits until the server answers: an SSH handshake with the
// pinned host key and the command `true` exiting 0. It retries with
// exponential backoff (5 ms doubling to 500 ms) until ctx ends, and keeps
// the connection for later Runs. A host key mismatch is not retried. On
// failure it returns a *NotReadyError listing every attempt.
func (c *Client) WaitReady(ctx context.Context) error {
	start := time.Now()
	var attempts []Attempt
	delay := readyFirstDelay
	for {
		exit, err := c.Run(ctx, "true", RunOptions{})
		if err == nil && exit.Code != 0 {
			err = fmt.Errorf("`true` exited %d", exit.Code)
		}
		if err == nil {
			c.log.Debug("ssh ready", "attempts", len(attempts)+1, "after", time.Since(start))
			return nil
		}
		if ctx.Err() != nil {
			// The attempt cut short by ctx tells nothing new.
			return &NotReadyError{Attempts: attempts, Cause: ctxCause(ctx)}
		}
		attempts = append(attempts, Attempt{At: time.Since(start), Err: err})
		c.log.Debug("ssh not ready", "attempt", len(attempts), "err", err)
		if errors.Is(err, ErrHostKeyMismatch) || errors.Is(err, ErrClosed) {
			return &NotReadyError{Attempts: attempts, Cause: err}
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return &NotReadyError{Attempts: attempts, Cause: ctxCause(ctx)}
		}
		delay = min(2*delay, readyMaxDelay)
	}
}

func ctxCause(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
	return ctx.Err()
}

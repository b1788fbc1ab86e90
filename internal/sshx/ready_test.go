package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWaitReadyLateListener starts WaitReady before sshd listens.
func TestWaitReadyLateListener(t *testing.T) {
	d := newTestSSHD(t)
	var logs syncBuffer
	c := d.newClient(func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.WaitReady(ctx) }()
	// Let it fail a few times first; the log records each attempt.
	for !strings.Contains(logs.String(), "attempt=3 ") {
		select {
		case err := <-done:
			t.Fatalf("WaitReady returned before sshd started: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	d.start()
	if err := <-done; err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log lacks the refused attempts:\n%s", logs.String())
	}
	if exit, err := c.Run(ctx, "exit 9", RunOptions{}); err != nil || exit.Code != 9 {
		t.Errorf("run: %+v %v", exit, err)
	}
	if got := c.Stats().Connects; got != 1 {
		t.Errorf("connects %d: WaitReady's connection should be reused", got)
	}
}

// TestWaitReadyAttemptList checks the error when nothing ever listens:
// every attempt is listed, repeats collapsed, and the backoff grows.
func TestWaitReadyAttemptList(t *testing.T) {
	var dials atomic.Int32
	c, err := New(Config{
		Dial: func(ctx context.Context) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("connection refused")
		},
		Signer:  testSigner(t),
		HostKey: func() (string, error) { return AuthorizedKey(testSigner(t)), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	err = c.WaitReady(ctx)
	var nr *NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("err %T %v, want *NotReadyError", err, err)
	}
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v: want ErrTimeout and DeadlineExceeded", err)
	}
	if n := len(nr.Attempts); n < 3 || n != int(dials.Load()) {
		t.Fatalf("%d attempts listed, %d dials made", n, dials.Load())
	}
	for i := 1; i < len(nr.Attempts); i++ {
		if nr.Attempts[i].At <= nr.Attempts[i-1].At {
			t.Errorf("attempt offsets not increasing: %v", nr.Attempts)
		}
	}
	// The backoff doubles from 5 ms: a timer never fires early, so each
	// gap is at least its delay however slow the machine is.
	for i := 1; i < len(nr.Attempts); i++ {
		delay := min(readyFirstDelay<<(i-1), readyMaxDelay)
		if gap := nr.Attempts[i].At - nr.Attempts[i-1].At; gap < delay {
			t.Errorf("gap before attempt %d is %v, want at least %v", i+1, gap, delay)
		}
	}
	msg := err.Error()
	want := fmt.Sprintf(`^ssh not ready: timeout: context deadline exceeded; %d attempts: \[\+\S+\.\.\+\S+ \(x%d\) dial: connection refused\]$`,
		len(nr.Attempts), len(nr.Attempts))
	if !regexp.MustCompile(want).MatchString(msg) {
		t.Errorf("message %q does not match %q", msg, want)
	}
}

func TestNotReadyErrorFormat(t *testing.T) {
	e1, e2 := errors.New("dial: refused"), errors.New("handshake: EOF")
	for _, tc := range []struct {
		name     string
		attempts []Attempt
		want     string
	}{
		{"none", nil, "ssh not ready: cause; 0 attempts:"},
		{"single", []Attempt{{5 * time.Millisecond, e1}}, "ssh not ready: cause; 1 attempts: [+5ms dial: refused]"},
		{"collapsed runs", []Attempt{{0, e1}, {5 * time.Millisecond, e1}, {15 * time.Millisecond, e1}, {1500 * time.Millisecond, e2}, {2 * time.Second, e1}},
			"ssh not ready: cause; 5 attempts: [+0s..+15ms (x3) dial: refused] [+1.5s handshake: EOF] [+2s dial: refused]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := (&NotReadyError{Attempts: tc.attempts, Cause: errors.New("cause")}).Error()
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestWaitReadyNoHostKeyYet: the pinned key appears only later (as on the
// serial console during boot); WaitReady keeps trying until it does.
func TestWaitReadyNoHostKeyYet(t *testing.T) {
	d := newTestSSHD(t)
	d.start()
	var calls atomic.Int32
	c := d.newClient(func(cfg *Config) {
		cfg.HostKey = func() (string, error) {
			if calls.Add(1) < 4 {
				return "", fmt.Errorf("serial log: %w", ErrNoHostKey)
			}
			return AuthorizedKey(d.hostKey), nil
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 {
		t.Errorf("host key consulted %d times, want 4", calls.Load())
	}
}

// TestHostKeyMismatch: a server with another host key is refused at once,
// by WaitReady (no retries) and by Run.
func TestHostKeyMismatch(t *testing.T) {
	d := newTestSSHD(t)
	d.start()
	other := testSigner(t)
	c := d.newClient(func(cfg *Config) {
		cfg.HostKey = func() (string, error) { return AuthorizedKey(other), nil }
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := c.WaitReady(ctx)
	var nr *NotReadyError
	if !errors.Is(err, ErrHostKeyMismatch) || !errors.As(err, &nr) || len(nr.Attempts) != 1 {
		t.Fatalf("WaitReady: %v, want one attempt failing with ErrHostKeyMismatch", err)
	}
	if ctx.Err() != nil {
		t.Error("WaitReady waited for the deadline on a mismatch")
	}
	var out bytes.Buffer
	_, err = c.Run(ctx, "echo ran", RunOptions{Stdout: &out})
	if !errors.Is(err, ErrHostKeyMismatch) || out.Len() != 0 {
		t.Errorf("Run: %v (stdout %q), want ErrHostKeyMismatch", err, out.String())
	}
	for _, want := range []string{"ssh-ed25519", "SHA256:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

package sshx

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReconnect restarts sshd (killing every connection, like a guest
// reboot): a command in flight fails with ErrNoExitStatus and is not
// re-run; the next Run reconnects transparently.
func TestReconnect(t *testing.T) {
	d := newTestSSHD(t)
	d.start()
	c := d.newClient(nil)
	ctx := context.Background()
	if exit, err := c.Run(ctx, "true", RunOptions{}); err != nil || exit.Code != 0 {
		t.Fatalf("first run: %+v %v", exit, err)
	}
	if got := c.Stats().Connects; got != 1 {
		t.Fatalf("connects %d, want 1", got)
	}

	counter := filepath.Join(d.dir, "ran")
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "echo x >> "+counter+"; echo started; sleep 1000", RunOptions{Stdout: &out})
		done <- err
	}()
	for i := 0; ; i++ {
		if b, _ := os.ReadFile(counter); len(b) > 0 {
			break
		}
		if i > 1000 {
			t.Fatal("the command never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.stop()
	if err := <-done; !errors.Is(err, ErrNoExitStatus) {
		t.Fatalf("in-flight run: err %v, want ErrNoExitStatus", err)
	}
	d.start()

	exit, err := c.Run(ctx, "exit 5", RunOptions{})
	if err != nil || exit.Code != 5 {
		t.Fatalf("run after restart: %+v %v", exit, err)
	}
	if got := c.Stats().Connects; got != 2 {
		t.Errorf("connects %d, want 2", got)
	}
	if b, _ := os.ReadFile(counter); string(b) != "x\n" {
		t.Errorf("the interrupted command ran %q times, want once", b)
	}
}

// TestReconnectStaleConnection breaks the connection without the client
// noticing first: opening the session fails, the client redials once.
func TestReconnectStaleConnection(t *testing.T) {
	d := newTestSSHD(t)
	d.start()
	c := d.newClient(nil)
	ctx := context.Background()
	if _, err := c.Run(ctx, "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	d.stop()
	d.start()
	for i := range 3 {
		if exit, err := c.Run(ctx, "exit 3", RunOptions{}); err != nil || exit.Code != 3 {
			t.Fatalf("run %d after restart: %+v %v", i, exit, err)
		}
	}
	if got := c.Stats().Connects; got != 2 {
		t.Errorf("connects %d, want 2", got)
	}
}

// TestClosed checks that a closed Client refuses work.
func TestClosed(t *testing.T) {
	d := newTestSSHD(t)
	d.start()
	c := d.newClient(nil)
	if _, err := c.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), "true", RunOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("err %v, want ErrClosed", err)
	}
	if err := c.WaitReady(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitReady: err %v, want ErrClosed", err)
	}
}

package sshx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/envsync"
)

// TestEnvRunner drives the real envsync protocol through EnvRunner and a
// real sshd, on an env file in a temp dir: one session per operation,
// values only on stdin.
func TestEnvRunner(t *testing.T) {
	d := newTestSSHD(t)
	d.start()
	c := d.newClient(nil)
	ctx := t.Context()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d.dir, "profile.d", "smolvm_env.sh")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	sy := &envsync.Syncer{Path: path}
	r := c.EnvRunner()
	secret := "multi\nline 'value' $HOME"

	before := c.Stats()
	names, err := sy.Set(ctx, r, map[string]string{"B": "2", "A": secret}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"A", "B"}) {
		t.Errorf("names %v", names)
	}
	after := c.Stats()
	if after.Sessions-before.Sessions != 1 {
		t.Errorf("Set used %d sessions, want 1", after.Sessions-before.Sessions)
	}
	if after.StdinBytes-before.StdinBytes < uint64(len(secret)) {
		t.Errorf("Set sent %d stdin bytes, less than the value", after.StdinBytes-before.StdinBytes)
	}
	if after.CommandBytes == before.CommandBytes {
		t.Error("command bytes not counted")
	}
	got, err := sy.List(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if got["A"] != secret || got["B"] != "2" || len(got) != 2 {
		t.Errorf("List = %q", got)
	}
	removed, err := sy.Unset(ctx, r, []string{"B", "MISSING"})
	if err != nil || removed["B"] != "2" || len(removed) != 1 {
		t.Errorf("Unset = %v, %v", removed, err)
	}
	if got, _ := sy.List(ctx, r); len(got) != 1 {
		t.Errorf("after unset: %d keys", len(got))
	}
	if strings.Contains(d.log.String(), "line 'value'") {
		t.Error("a value reached the sshd log")
	}
}

func TestEnvRunnerExitAndCancel(t *testing.T) {
	d := newTestSSHD(t)
	d.start()
	c := d.newClient(nil)
	r := c.EnvRunner()

	var stderr syncBuffer
	p, err := r.Start(t.Context(), "echo oops >&2; exit 3", &stderr)
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Stdin.Close()
	err = p.Wait()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Exit.Code != 3 || stderr.String() != "oops\n" {
		t.Errorf("Wait: %v, stderr %q; want exit status 3 and oops", err, stderr.String())
	}

	mark := "envrunner-" + time.Now().Format("150405.000000000")
	t.Cleanup(func() { killMarked(t, mark) })
	ctx, cancel := context.WithCancel(t.Context())
	p, err = r.Start(ctx, "SSHX_MARK="+mark+" exec sleep 1000", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait after cancel: %v, want context.Canceled", err)
	}
}

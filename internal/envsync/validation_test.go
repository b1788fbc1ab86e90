package envsync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/env"
)

// TestValidationBeforeIO checks that bad input is refused before any
// session starts: the Runner fails the test if it is called at all.
func TestValidationBeforeIO(t *testing.T) {
	tests := []struct {
		name    string
		updates map[string]string // for Set
		unset   []string          // for Unset, when updates is nil
		want    error
	}{
		{name: "set key with dash", updates: map[string]string{"FOO-BAR": "x"}, want: env.ErrInvalidKey},
		{name: "set key starting with digit", updates: map[string]string{"1A": "x"}, want: env.ErrInvalidKey},
		{name: "set key with trailing newline", updates: map[string]string{"FOO\n": "x"}, want: env.ErrInvalidKey},
		{name: "set key with equals", updates: map[string]string{"A=B": "x"}, want: env.ErrInvalidKey},
		{name: "set empty key", updates: map[string]string{"": "x"}, want: env.ErrInvalidKey},
		{name: "set bad key among good", updates: map[string]string{"GOOD": "1", "BAD KEY": "2"}, want: env.ErrInvalidKey},
		{name: "set NUL value", updates: map[string]string{"A": "x\x00y"}, want: env.ErrInvalidValue},
		{name: "set lone NUL value", updates: map[string]string{"A": "\x00"}, want: env.ErrInvalidValue},
		{name: "set invalid UTF-8 value", updates: map[string]string{"A": "\xff"}, want: env.ErrInvalidValue},
		{name: "set value over the variable limit", updates: map[string]string{"A": strings.Repeat("x", env.MaxVarSize)}, want: env.ErrTooLarge},
		{name: "unset key with dash", unset: []string{"FOO-BAR"}, want: env.ErrInvalidKey},
		{name: "unset key starting with digit", unset: []string{"1A"}, want: env.ErrInvalidKey},
		{name: "unset key with trailing newline", unset: []string{"FOO\n"}, want: env.ErrInvalidKey},
		{name: "unset key with equals", unset: []string{"A=B"}, want: env.ErrInvalidKey},
		{name: "unset empty key", unset: []string{""}, want: env.ErrInvalidKey},
		{name: "unset bad key after good", unset: []string{"GOOD", "A B"}, want: env.ErrInvalidKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &neverRunner{t: t}
			var err error
			if tc.updates != nil {
				_, err = Set(context.Background(), r, tc.updates, false)
			} else {
				_, err = Unset(context.Background(), r, tc.unset)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if r.calls.Load() != 0 {
				t.Errorf("Runner called %d times", r.calls.Load())
			}
			for k, v := range tc.updates {
				if len(v) > 1 && strings.Contains(err.Error(), v) {
					t.Errorf("error %q contains the value of %q", err, k)
				}
			}
		})
	}
}

// TestBadSyncerConfig checks that a bad path or lock mode is refused
// without a session.
func TestBadSyncerConfig(t *testing.T) {
	tests := []struct {
		name string
		sy   Syncer
	}{
		{name: "relative path", sy: Syncer{Path: "etc/profile.d/x.sh"}},
		{name: "unclean path", sy: Syncer{Path: "/etc/profile.d/../x.sh"}},
		{name: "file in root", sy: Syncer{Path: "/x.sh"}},
		{name: "trailing slash", sy: Syncer{Path: "/etc/profile.d/"}},
		{name: "dot base", sy: Syncer{Path: "/etc/profile.d/.x.sh"}},
		{name: "glob in base", sy: Syncer{Path: "/etc/profile.d/x*.sh"}},
		{name: "quote in base", sy: Syncer{Path: "/etc/profile.d/x'.sh"}},
		{name: "newline in dir", sy: Syncer{Path: "/etc/pro\nfile.d/x.sh"}},
		{name: "bad lock mode", sy: Syncer{Lock: LockMode(7)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &neverRunner{t: t}
			if _, err := tc.sy.List(context.Background(), r); err == nil {
				t.Error("List: no error")
			}
			if _, err := tc.sy.Set(context.Background(), r, map[string]string{"A": "1"}, false); err == nil {
				t.Error("Set: no error")
			}
		})
	}
}

func TestCanceledContextStartsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &neverRunner{t: t}
	if _, err := List(ctx, r); !errors.Is(err, context.Canceled) {
		t.Errorf("List err = %v, want context.Canceled", err)
	}
}

package envsync

import (
	"context"
	"fmt"
	"slices"

	"github.com/smolvm/smolvm/env"
)

// Unset removes keys from the guest's env file and returns removed key ->
// old value for each key that was present (never nil). Keys are validated
// with env.ValidateKey before any guest I/O. When none of the keys is
// present the file is not written at all (same inode, same mtime).
func (s *Syncer) Unset(ctx context.Context, r Runner, keys []string) (map[string]string, error) {
	for _, k := range keys {
		if err := env.ValidateKey(k); err != nil {
			return nil, fmt.Errorf("envsync unset: %w", err)
		}
	}
	keys = slices.Clone(keys)
	var removed map[string]string
	o, err := s.exchange(ctx, r, "unset", modeUpdate, func(cur map[string]string) ([]byte, error) {
		next, rm, changed := env.Unset(cur, keys)
		removed = rm
		if !changed {
			return nil, nil
		}
		return env.Render(next), nil
	})
	if err != nil {
		return nil, err
	}
	s.logger().Debug("envsync unset", "keys", keys, "removed", len(removed), "wrote", o.wrote)
	return removed, nil
}

// Unset is Syncer.Unset on env.Path with LockAuto.
func Unset(ctx context.Context, r Runner, keys []string) (map[string]string, error) {
	return (&Syncer{}).Unset(ctx, r, keys)
}

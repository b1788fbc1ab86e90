package envsync

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/smolvm/smolvm/env"
)

// Set merges updates into the guest's env file (replace false: updates
// win over current values, other keys stay) or replaces its whole content
// (replace true), exactly as env.Merge. It returns the sorted names
// present after the update. Keys and values are validated with
// env.Validate before any guest I/O; then one session reads the current
// file and writes the new one atomically under the guest-side lock, or
// writes nothing when nothing changes. Empty updates change nothing, even
// with replace.
func (s *Syncer) Set(ctx context.Context, r Runner, updates map[string]string, replace bool) ([]string, error) {
	if err := env.Validate(updates); err != nil {
		return nil, fmt.Errorf("envsync set: %w", err)
	}
	var names []string
	o, err := s.exchange(ctx, r, "set", modeUpdate, func(cur map[string]string) ([]byte, error) {
		next, n, changed := env.Merge(cur, updates, replace)
		names = n
		if !changed {
			return nil, nil
		}
		if err := env.Validate(next); err != nil {
			return nil, err
		}
		return env.Render(next), nil
	})
	if err != nil {
		return nil, err
	}
	s.logger().Debug("envsync set", "keys", slices.Sorted(maps.Keys(updates)), "replace", replace, "wrote", o.wrote)
	return names, nil
}

// Set is Syncer.Set on env.Path with LockAuto.
func Set(ctx context.Context, r Runner, updates map[string]string, replace bool) ([]string, error) {
	return (&Syncer{}).Set(ctx, r, updates, replace)
}

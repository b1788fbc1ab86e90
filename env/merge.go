package env

import "maps"

// Merge computes the variables after a set operation. With replace false
// the updates are laid over current (an update wins); with replace true
// the result is exactly updates. Empty updates change nothing, even with
// replace: clearing every variable is Unset with all keys. It returns the
// new map (always a fresh map, never nil), the sorted keys present in it,
// and whether it differs from current, so a caller can skip the write.
// Neither input is mutated. Merge does not validate; call Validate on the
// result before rendering it.
func Merge(current, updates map[string]string, replace bool) (next map[string]string, names []string, changed bool) {
	switch {
	case len(updates) == 0:
		next = cloneMap(current)
	case replace:
		next = cloneMap(updates)
	default:
		next = cloneMap(current)
		maps.Copy(next, updates)
	}
	return next, sortedKeys(next), !maps.Equal(current, next)
}

// Unset computes the variables after removing keys. It returns the new map
// (fresh, never nil), the removed key -> old value for each key that was
// present (never nil), and whether anything was removed; when nothing was,
// the caller can skip the write. Keys that are absent (or repeated) are
// ignored. Neither input is mutated.
func Unset(current map[string]string, keys []string) (next, removed map[string]string, changed bool) {
	next = cloneMap(current)
	removed = map[string]string{}
	for _, k := range keys {
		if v, ok := next[k]; ok {
			removed[k] = v
			delete(next, k)
		}
	}
	return next, removed, len(removed) > 0
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}

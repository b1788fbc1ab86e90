package env

import (
	"maps"
	"slices"
	"testing"
)

func TestMerge(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		name    string
		current m
		updates m
		replace bool
		want    m
		names   []string
		changed bool
	}{
		{"merge adds", m{"A": "1"}, m{"B": "2"}, false, m{"A": "1", "B": "2"}, []string{"A", "B"}, true},
		{"merge overwrites", m{"A": "1", "B": "2"}, m{"A": "x"}, false, m{"A": "x", "B": "2"}, []string{"A", "B"}, true},
		{"merge keeps a multi-line value", m{"ML": "a\nb\n"}, m{"X": "1"}, false, m{"ML": "a\nb\n", "X": "1"}, []string{"ML", "X"}, true},
		{"same value is no change", m{"A": "1"}, m{"A": "1"}, false, m{"A": "1"}, []string{"A"}, false},
		{"empty string value is a change", m{"A": "1"}, m{"A": ""}, false, m{"A": ""}, []string{"A"}, true},
		{"replace drops old keys", m{"A": "1", "B": "2"}, m{"C": "3"}, true, m{"C": "3"}, []string{"C"}, true},
		{"replace with the same map", m{"A": "1"}, m{"A": "1"}, true, m{"A": "1"}, []string{"A"}, false},
		{"empty updates change nothing", m{"A": "1"}, m{}, false, m{"A": "1"}, []string{"A"}, false},
		{"empty updates with replace change nothing", m{"A": "1"}, nil, true, m{"A": "1"}, []string{"A"}, false},
		{"nil current", nil, m{"A": "1"}, false, m{"A": "1"}, []string{"A"}, true},
		{"all empty", nil, nil, false, m{}, []string{}, false},
		{"names sorted bytewise", nil, m{"b": "", "B": "", "_": "", "A1": ""}, false,
			m{"b": "", "B": "", "_": "", "A1": ""}, []string{"A1", "B", "_", "b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, upd := maps.Clone(tt.current), maps.Clone(tt.updates)
			next, names, changed := Merge(tt.current, tt.updates, tt.replace)
			if !maps.Equal(next, tt.want) || next == nil {
				t.Errorf("next = %q, want %q", next, tt.want)
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("names = %q, want %q", names, tt.names)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if !maps.Equal(tt.current, cur) || !maps.Equal(tt.updates, upd) {
				t.Fatal("Merge mutated an input")
			}
			next["MUTATE"] = "x" // the result must not alias an input
			if _, ok := tt.current["MUTATE"]; ok {
				t.Fatal("next aliases current")
			}
			if _, ok := tt.updates["MUTATE"]; ok {
				t.Fatal("next aliases updates")
			}
		})
	}
}

func TestUnset(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		name    string
		current m
		keys    []string
		want    m
		removed m
		changed bool
	}{
		{"removes and returns old value", m{"A": "1", "B": "2"}, []string{"A"}, m{"B": "2"}, m{"A": "1"}, true},
		{"missing keys change nothing", m{"A": "1"}, []string{"X", "Y"}, m{"A": "1"}, m{}, false},
		{"mixed present and missing", m{"A": "1", "B": "2"}, []string{"X", "B"}, m{"A": "1"}, m{"B": "2"}, true},
		{"repeated key", m{"A": "1"}, []string{"A", "A"}, m{}, m{"A": "1"}, true},
		{"empty value removed", m{"E": ""}, []string{"E"}, m{}, m{"E": ""}, true},
		{"empty key list", m{"A": "1"}, nil, m{"A": "1"}, m{}, false},
		{"nil current", nil, []string{"A"}, m{}, m{}, false},
		{"all keys", m{"A": "1", "B": "2"}, []string{"B", "A"}, m{}, m{"A": "1", "B": "2"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, keys := maps.Clone(tt.current), slices.Clone(tt.keys)
			next, removed, changed := Unset(tt.current, tt.keys)
			if !maps.Equal(next, tt.want) || next == nil {
				t.Errorf("next = %q, want %q", next, tt.want)
			}
			if !maps.Equal(removed, tt.removed) || removed == nil {
				t.Errorf("removed = %q, want %q", removed, tt.removed)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if !maps.Equal(tt.current, cur) || !slices.Equal(tt.keys, keys) {
				t.Fatal("Unset mutated an input")
			}
			next["MUTATE"] = "x"
			if _, ok := tt.current["MUTATE"]; ok {
				t.Fatal("next aliases current")
			}
		})
	}
}

package main

import (
	"testing"
	"time"
)

func TestParseStatStart(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want time.Duration
		ok   bool
	}{
		{"plain name", "42 (qemu) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 3 0 12345 1000 10 0", 123450 * time.Millisecond, true},
		{"name with spaces and parens", "42 (a (b) c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 3 0 250 1000 10 0", 2500 * time.Millisecond, true},
		{"truncated line", "42 (qemu) S 1 42", 0, false},
		{"no parenthesis", "garbage", 0, false},
		{"non-numeric start time", "42 (q) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 3 0 x 1000", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseStatStart(tc.stat)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseStatStart = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLineEvent(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"milestone", "smolvm-agent: milestone ssh-listening 3.250000", "ssh-listening"},
		{"milestone after kernel noise", "[  1.0] x smolvm-agent: milestone agent-start 1.000000\r", "agent-start"},
		{"shutdown phase", "smolvm-agent: [    12.500000] phase shutdown: SIGUSR2 (poweroff)", "shutdown"},
		{"other phase", "smolvm-agent: [     1.000000] phase network: ok", ""},
		{"hostkey line", "smolvm-agent: hostkey ssh-ed25519 AAAA", ""},
		{"kernel line", "[    0.000000] Linux version 6.1.0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := lineEvent(tc.line); got != tc.want {
				t.Errorf("lineEvent(%q) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
	if d, ok := shutdownStamp("smolvm-agent: [    12.500000] phase shutdown: x"); !ok || d != 12500*time.Millisecond {
		t.Errorf("shutdownStamp = %v, %v", d, ok)
	}
}

func TestColdBreakdown(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	serial := []byte("Linux booting\n" +
		"smolvm-agent: milestone agent-start 1.000000\n" +
		"smolvm-agent: milestone modules-loaded 1.200000\n" +
		"smolvm-agent: milestone root-mounted 1.500000\n" +
		"smolvm-agent: milestone network-up 1.600000\n" +
		"smolvm-agent: milestone ssh-listening 2.000000\n" +
		"smolvm-agent: [     2.300000] phase shutdown: SIGUSR2 (poweroff)\n")
	// Host boottime: process at 100 s, QEMU at 100.2 s, kernel at 100.5 s.
	// Lines are seen a little after the guest printed them; the earliest
	// (seen - guest) estimates the kernel start.
	t0 := 100 * time.Second
	seen := map[string]time.Duration{
		"qemu-start":    t0 + ms(200),
		"agent-start":   t0 + ms(500) + ms(1000) + ms(5),
		"ssh-listening": t0 + ms(500) + ms(2000) + ms(1),
		"shutdown":      t0 + ms(500) + ms(2300) + ms(8),
	}
	tExit := t0 + ms(500) + ms(2300) + ms(700)
	s := coldBreakdown(t0, tExit, ms(3500), serial, seen)
	want := map[string]time.Duration{
		coldPhases[0]: ms(200),  // process -> QEMU
		coldPhases[1]: ms(301),  // QEMU -> kernel (estimate: ssh-listening seen 1 ms late)
		coldPhases[2]: ms(1000), // kernel -> agent-start
		coldPhases[3]: ms(200),
		coldPhases[4]: ms(300),
		coldPhases[5]: ms(100),
		coldPhases[6]: ms(400),
		coldPhases[7]: ms(300), // ssh-listening -> shutdown request
		coldPhases[8]: ms(699), // teardown
	}
	for _, p := range coldPhases {
		if got := s.phases[p].Round(time.Millisecond); got != want[p] {
			t.Errorf("%s = %v, want %v", p, got, want[p])
		}
	}
	if got := s.first.Round(time.Millisecond); got != ms(2801) {
		t.Errorf("first command done at %v, want 2.801s", got)
	}

	// Without QEMU's PID or the shutdown line those phases are left out.
	s = coldBreakdown(t0, tExit, ms(3500), serial[:len(serial)-60], map[string]time.Duration{"agent-start": t0 + ms(1500)})
	for _, p := range []string{coldPhases[0], coldPhases[1], coldPhases[7], coldPhases[8]} {
		if _, ok := s.phases[p]; ok {
			t.Errorf("phase %q present without its inputs", p)
		}
	}
	if s.first != 0 {
		t.Errorf("first = %v without a shutdown line", s.first)
	}
}

func TestParseGroups(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  bool
	}{
		{"run order, not flag order", "density,cold", []string{"cold", "density"}, false},
		{"duplicates and spaces", " env , env", []string{"env"}, false},
		{"unknown group", "cold,warp", nil, true},
		{"empty", ",", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGroups(tc.in)
			if (err != nil) != tc.wantErr || len(got) != len(tc.want) {
				t.Fatalf("parseGroups(%q) = %v, %v", tc.in, got, err)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("parseGroups(%q) = %v, want %v", tc.in, got, tc.want)
				}
			}
		})
	}
}

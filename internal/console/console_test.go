package console

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	log := "garbage\n" + FormatMilestone(AgentStart, 1500*time.Millisecond) +
		"[    2.1] kernel noise smolvm-agent: milestone bogus\n" +
		FormatHostKey("ssh-ed25519 AAAAold") +
		"\x1b[0m" + FormatMilestone(SSHListening, 3*time.Second) +
		// a second boot in the same log: only its milestones count
		FormatMilestone(AgentStart, 2*time.Second) + FormatHostKey("ssh-ed25519 AAAAnew\r")
	rep, err := Parse(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if rep.HostKey != "ssh-ed25519 AAAAnew" {
		t.Errorf("HostKey = %q", rep.HostKey)
	}
	if len(rep.Milestones) != 1 || rep.Milestones[AgentStart] != 2*time.Second {
		t.Errorf("Milestones = %v, want only the second boot's agent-start", rep.Milestones)
	}
}

func TestParseMilestone(t *testing.T) {
	for _, tc := range []struct {
		line string
		name string
		t    time.Duration
		ok   bool
	}{
		{"smolvm-agent: milestone ssh-listening 3.250000", "ssh-listening", 3250 * time.Millisecond, true},
		{"noise smolvm-agent: milestone network-up 0.000001\r", "network-up", time.Microsecond, true},
		{"smolvm-agent: milestone ssh-listening", "", 0, false},
		{"smolvm-agent: milestone a 1 2", "", 0, false},
		{"smolvm-agent: milestone a -1", "", 0, false},
		{"smolvm-agent: milestone a NaN", "", 0, false},
		{"smolvm-agent: hostkey ssh-ed25519 AAAA", "", 0, false},
		{"", "", 0, false},
	} {
		name, d, ok := ParseMilestone(tc.line)
		if name != tc.name || d != tc.t || ok != tc.ok {
			t.Errorf("ParseMilestone(%q) = %q, %v, %v; want %q, %v, %v", tc.line, name, d, ok, tc.name, tc.t, tc.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(FormatMilestone(AgentStart, time.Second) + FormatHostKey("ssh-ed25519 AAAA"))
	f.Add("smolvm-agent: milestone x 1e308\nsmolvm-agent: hostkey \n")
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		for name, d := range rep.Milestones {
			if d < 0 || strings.ContainsAny(name, " \n") {
				t.Errorf("milestone %q = %v", name, d)
			}
		}
	})
}

// Package console defines the lines the guest agent prints on the serial
// console for the host to read, and parses them back. It is shared by the
// agent (writer) and the host (reader), so the format lives in one place.
//
// Two kinds of line, each alone on a line, anywhere in the serial log:
//
//	smolvm-agent: milestone <name> <seconds>
//	smolvm-agent: hostkey <authorized_keys line>
//
// <seconds> is CLOCK_BOOTTIME (time since the kernel started) with six
// decimals, so the first milestone also measures kernel boot. The hostkey
// line carries the guest's SSH host public key (e.g. "ssh-ed25519 AAAA...");
// the host pins it and refuses any other key.
package console

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Prefix starts every line the agent prints for the host.
const Prefix = "smolvm-agent: "

// Milestone names, in the order they happen during a boot.
const (
	AgentStart    = "agent-start"    // PID 1 began running (kernel boot done)
	ModulesLoaded = "modules-loaded" // virtio modules from the initrd loaded
	RootMounted   = "root-mounted"   // switched to the root disk
	NetworkUp     = "network-up"     // interface configured
	SSHListening  = "ssh-listening"  // SSH server accepting connections
)

// Milestones lists the names in boot order.
var Milestones = []string{AgentStart, ModulesLoaded, RootMounted, NetworkUp, SSHListening}

// FormatMilestone renders a milestone line (with trailing newline).
func FormatMilestone(name string, sinceBoot time.Duration) string {
	return fmt.Sprintf("%smilestone %s %.6f\n", Prefix, name, sinceBoot.Seconds())
}

// FormatHostKey renders the host key line (with trailing newline).
// authorizedKey is one line in authorized_keys format, without newline.
func FormatHostKey(authorizedKey string) string {
	return Prefix + "hostkey " + strings.TrimSpace(authorizedKey) + "\n"
}

// Report is what a serial log tells about one boot.
type Report struct {
	// Milestones maps a milestone name to its time since kernel start.
	Milestones map[string]time.Duration
	// HostKey is the last hostkey line's key, in authorized_keys format.
	HostKey string
}

// Parse reads a serial log and returns what the agent reported. When a log
// holds several boots, later lines win. Unrelated and malformed lines are
// ignored: the console is shared with the kernel and may be garbled.
func Parse(r io.Reader) (Report, error) {
	rep := Report{Milestones: map[string]time.Duration{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(line, Prefix)
		if i < 0 {
			continue
		}
		rest := line[i+len(Prefix):]
		switch {
		case strings.HasPrefix(rest, "milestone "):
			name, t, ok := ParseMilestone(line)
			if !ok {
				continue
			}
			if name == AgentStart {
				// A new boot starts: forget the previous one's milestones.
				rep.Milestones = map[string]time.Duration{}
			}
			rep.Milestones[name] = t
		case strings.HasPrefix(rest, "hostkey "):
			rep.HostKey = strings.TrimSpace(strings.TrimPrefix(rest, "hostkey "))
		}
	}
	return rep, sc.Err()
}

// ParseMilestone reads one console line; ok is false unless it is a
// well-formed milestone line.
func ParseMilestone(line string) (name string, sinceBoot time.Duration, ok bool) {
	i := strings.Index(line, Prefix+"milestone ")
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(line[i+len(Prefix):])
	if len(f) != 3 {
		return "", 0, false
	}
	s, err := strconv.ParseFloat(f[2], 64)
	if err != nil || !(s >= 0 && s <= 1e9) { // also refuses NaN
		return "", 0, false
	}
	return f[1], time.Duration(s * float64(time.Second)), true
}

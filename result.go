package smolvm

import "strings"

// Result is a finished guest command. A non-zero ExitCode is data, not an
// error.
type Result struct {
	// ExitCode is the command's exit status; 128+N when killed by signal N.
	ExitCode int
	// Signal is the signal name (e.g. "KILL") when the command was killed.
	Signal string
	// Stdout and Stderr are the exact bytes the command wrote.
	Stdout []byte
	Stderr []byte
}

// Output returns stdout as a string with surrounding whitespace trimmed,
// as the reference API does. Use Stdout for the exact bytes.
func (r *Result) Output() string { return strings.TrimSpace(string(r.Stdout)) }

// OK reports whether the command exited 0.
func (r *Result) OK() bool { return r.ExitCode == 0 }

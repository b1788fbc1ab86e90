package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// Report is one harness run: the machine it ran on and every figure.
type Report struct {
	Machine Machine  `json:"machine"`
	Quick   bool     `json:"quick"`
	Groups  []string `json:"groups"`
	Metrics []Metric `json:"metrics"`
	Ratios  []Ratio  `json:"ratios"`
	Checks  []Check  `json:"checks"`
	// Traffic is SSH sessions and bytes per operation.
	Traffic []Traffic `json:"traffic,omitempty"`
	// Notes say how figures were obtained where the table cannot.
	Notes []string `json:"notes,omitempty"`
	// Errors lists groups that could not finish, with why.
	Errors []string `json:"errors,omitempty"`
}

// Metric is one measured quantity summarised over repetitions.
type Metric struct {
	Group  string   `json:"group"`
	Name   string   `json:"name"`
	Unit   string   `json:"unit"` // "ms", "MiB", "sessions", "bytes", "%"
	N      int      `json:"n"`
	Median float64  `json:"median"`
	Min    float64  `json:"min"`
	Max    float64  `json:"max"`
	P99    *float64 `json:"p99,omitempty"` // only where the issue asks for it
	Note   string   `json:"note,omitempty"`
}

// Ratio compares two arms measured alternately in the same run:
// Value = median(numerator) / median(denominator).
type Ratio struct {
	Group       string   `json:"group"`
	Name        string   `json:"name"`
	Numerator   string   `json:"numerator"`
	Denominator string   `json:"denominator"`
	Value       *float64 `json:"value"` // null when the denominator had no sample
	// Target is the upper bound for Value (0: none stated).
	Target float64 `json:"target,omitempty"`
	Meets  *bool   `json:"meets,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// Check is a yes/no property the issue asks for (e.g. no env value on a
// command line, zero failures).
type Check struct {
	Group  string `json:"group"`
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Traffic is what one operation sent over SSH, summarised over
// repetitions: sessions opened, bytes of exec command strings, bytes
// written to stdin.
type Traffic struct {
	Group        string  `json:"group"`
	Name         string  `json:"name"`
	Sessions     Summary `json:"sessions"`
	CommandBytes Summary `json:"command_bytes"`
	StdinBytes   Summary `json:"stdin_bytes"`
}

// NewMetric summarises xs; withP99 keeps the 99th percentile.
func NewMetric(group, name, unit string, xs []float64, withP99 bool) Metric {
	s := Summarize(xs)
	m := Metric{Group: group, Name: name, Unit: unit, N: s.N, Median: s.Median, Min: s.Min, Max: s.Max}
	if withP99 {
		p := s.P99
		m.P99 = &p
	}
	return m
}

// NewRatio compares the medians of two metrics against target (0: none).
func NewRatio(group, name string, num, den Metric, target float64) Ratio {
	r := Ratio{Group: group, Name: name, Numerator: num.Name, Denominator: den.Name, Target: target}
	if v := medianRatio(num, den); !math.IsNaN(v) {
		r.Value = &v
		if target > 0 {
			ok := v <= target
			r.Meets = &ok
		}
	}
	return r
}

// medianRatio is median(num)/median(den), NaN when either has no sample.
func medianRatio(num, den Metric) float64 {
	if num.N == 0 || den.N == 0 {
		return math.NaN()
	}
	return Div(num.Median, den.Median)
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes r as Markdown: the machine, a table of metrics, a
// table of ratios against the targets and a table of checks.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	mode := "full"
	if r.Quick {
		mode = "quick (-quick: fewer repetitions)"
	}
	fmt.Fprintf(&b, "Machine: %s, %d cores, %.1f GiB; accelerator %s", m.CPUModel, m.Cores, float64(m.MemoryMiB)/1024, strings.ToUpper(m.Accel))
	if m.AccelNote != "" {
		fmt.Fprintf(&b, " (%s)", m.AccelNote)
	}
	fmt.Fprintf(&b, ".\nHost kernel %s, guest kernel %s. Commit %s, %s, %s run.\n\n", m.HostKernel, orDash(m.GuestKernel), m.Commit, m.Date, mode)

	b.WriteString("| Group | Measure | Median | Min | Max | p99 | N |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, x := range r.Metrics {
		p99 := "–"
		if x.P99 != nil {
			p99 = fmtValue(*x.P99, x.Unit)
		}
		name := x.Name
		if x.Note != "" {
			name += " (" + x.Note + ")"
		}
		med, lo, hi := "–", "–", "–"
		if x.N > 0 {
			med, lo, hi = fmtValue(x.Median, x.Unit), fmtValue(x.Min, x.Unit), fmtValue(x.Max, x.Unit)
		} else {
			p99 = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d |\n", x.Group, cell(name), med, lo, hi, p99, x.N)
	}
	if len(r.Ratios) > 0 {
		b.WriteString("\n| Group | Ratio (medians, measured alternately) | Value | Target | Met |\n|---|---|--:|--:|---|\n")
		for _, x := range r.Ratios {
			val, target, met := "–", "–", "–"
			if x.Value != nil {
				val = fmt.Sprintf("%.2fx", *x.Value)
			}
			if x.Target > 0 {
				target = fmt.Sprintf("<= %.2fx", x.Target)
			}
			if x.Meets != nil {
				met = map[bool]string{true: "yes", false: "no"}[*x.Meets]
			}
			name := x.Name
			if x.Note != "" {
				name += " (" + x.Note + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.Group, cell(name), val, target, met)
		}
	}
	if len(r.Traffic) > 0 {
		b.WriteString("\n| Group | Operation (SSH traffic, median [min-max]) | Sessions | Command bytes | Stdin bytes | N |\n|---|---|--:|--:|--:|--:|\n")
		for _, t := range r.Traffic {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", t.Group, cell(t.Name),
				fmtCount(t.Sessions), fmtCount(t.CommandBytes), fmtCount(t.StdinBytes), t.Sessions.N)
		}
	}
	if len(r.Checks) > 0 {
		b.WriteString("\n| Group | Check | Result | Detail |\n|---|---|---|---|\n")
		for _, c := range r.Checks {
			res := map[bool]string{true: "pass", false: "FAIL"}[c.OK]
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Group, cell(c.Name), res, cell(orDash(c.Detail)))
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "\nError: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtValue renders v in unit: one decimal for times and sizes, whole
// numbers for counts.
func fmtValue(v float64, unit string) string {
	switch unit {
	case "ms", "MiB", "%":
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

// fmtCount renders a count summary as "median" or "median [min-max]"
// when the repetitions differed.
func fmtCount(s Summary) string {
	if s.N == 0 {
		return "–"
	}
	if s.Min == s.Max {
		return fmt.Sprintf("%.0f", s.Median)
	}
	return fmt.Sprintf("%.0f [%.0f-%.0f]", s.Median, s.Min, s.Max)
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleReport is a fixed report covering every row kind: metrics with and
// without p99 and notes, ratios that meet, miss and cannot be computed,
// checks that pass and fail, and an error.
func sampleReport() *Report {
	cold := NewMetric("cold", "smolvm run -- true", "ms", []float64{2400, 2600, 2500}, false)
	bare := NewMetric("cold", "bare kernel boot", "ms", []float64{1000, 1100, 900}, false)
	run := NewMetric("latency", "Run(true)", "ms", []float64{1, 2, 3, 4}, true)
	cm := NewMetric("latency", "ssh ControlMaster", "ms", []float64{2, 2, 2, 2}, true)
	empty := NewMetric("latency", "ssh fresh", "ms", nil, true)
	sess := NewMetric("env", "set 10 keys: sessions", "sessions", []float64{1, 1, 1}, false)
	sess.Note = "per operation"
	return &Report{
		Machine: Machine{
			CPUModel: "Test CPU | 2.0GHz", Cores: 2, MemoryMiB: 24000, Accel: "tcg",
			AccelNote: "no vmx/svm CPU flag", HostKernel: "6.1.0-test", GuestKernel: "6.1.0-57-cloud-amd64",
			Commit: "0123456789ab-dirty", Date: "2026-12-03T20:00:00Z", GoVersion: "go1.26.8",
		},
		Quick:   true,
		Groups:  []string{"cold", "latency", "env"},
		Metrics: []Metric{cold, bare, run, cm, empty, sess},
		Ratios: []Ratio{
			NewRatio("cold", "smolvm run / bare boot", cold, bare, 1.3),
			NewRatio("latency", "Run / ControlMaster ssh", run, cm, 1.5),
			NewRatio("latency", "Run / fresh ssh", run, empty, 0.25),
			NewRatio("throughput", "4 boots / 1 boot", cold, bare, 0),
		},
		Checks: []Check{
			{Group: "env", Name: "no value on any command line", OK: true, Detail: "18 commands"},
			{Group: "throughput", Name: "20 concurrent Runs", OK: false, Detail: "1 failed: exit 255"},
		},
		Traffic: []Traffic{
			{Group: "env", Name: "set, 10 keys", Sessions: Summarize([]float64{1, 1}),
				CommandBytes: Summarize([]float64{5083, 5083}), StdinBytes: Summarize([]float64{564, 560})},
			{Group: "env", Name: "list, never run"},
		},
		Notes:  []string{"counts come from the harness's own client"},
		Errors: []string{"density: boot: timed out"},
	}
}

func TestReportGolden(t *testing.T) {
	r := sampleReport()
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"report.golden.md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{"report.golden.json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs from the golden file:\n%s", tc.name, b.String())
			}
		})
	}
}

func TestRatioRules(t *testing.T) {
	a := NewMetric("g", "a", "ms", []float64{3}, false)
	b := NewMetric("g", "b", "ms", []float64{2}, false)
	none := NewMetric("g", "none", "ms", nil, false)
	tests := []struct {
		name      string
		r         Ratio
		wantValue string // "" when no value
		wantMeets string // "", "true", "false"
	}{
		{"value is the ratio of medians", NewRatio("g", "r", a, b, 0), "1.5", ""},
		{"target met when at or below", NewRatio("g", "r", b, a, 1), "0.6666666666666666", "true"},
		{"target missed when above", NewRatio("g", "r", a, b, 1.3), "1.5", "false"},
		{"no sample gives no value and no verdict", NewRatio("g", "r", a, none, 1.3), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			val, meets := "", ""
			if tc.r.Value != nil {
				val = strconv.FormatFloat(*tc.r.Value, 'f', -1, 64)
			}
			if tc.r.Meets != nil {
				meets = map[bool]string{true: "true", false: "false"}[*tc.r.Meets]
			}
			if val != tc.wantValue || meets != tc.wantMeets {
				t.Errorf("value %q meets %q, want %q %q", val, meets, tc.wantValue, tc.wantMeets)
			}
		})
	}
}

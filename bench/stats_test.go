package main

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Summary
	}{
		{"empty sample is zero", nil, Summary{}},
		{"single value is every statistic", []float64{7}, Summary{N: 1, Median: 7, Min: 7, Max: 7, P99: 7}},
		{"odd size takes the middle", []float64{3, 1, 2}, Summary{N: 3, Median: 2, Min: 1, Max: 3, P99: 3}},
		{"even size averages the two middle", []float64{4, 1, 3, 2}, Summary{N: 4, Median: 2.5, Min: 1, Max: 4, P99: 4}},
		{"unsorted input with duplicates", []float64{5, 5, 1, 5}, Summary{N: 4, Median: 5, Min: 1, Max: 5, P99: 5}},
		{"p99 of 200 skips the top one percent",
			seq(200), Summary{N: 200, Median: 100.5, Min: 1, Max: 200, P99: 198}},
		{"p99 of 100 is the 99th value", seq(100), Summary{N: 100, Median: 50.5, Min: 1, Max: 100, P99: 99}},
		{"p99 of 10 is the maximum", seq(10), Summary{N: 10, Median: 5.5, Min: 1, Max: 10, P99: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			if got := Summarize(tc.in); got != tc.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatalf("Summarize modified its input: %v, was %v", tc.in, in)
				}
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	s := seq(20)
	slices.Sort(s)
	tests := []struct {
		name string
		p    float64
		want float64
	}{
		{"p50 is nearest rank 10", 50, 10},
		{"p95 is rank 19", 95, 19},
		{"p100 is the maximum", 100, 20},
		{"tiny p is the minimum", 0.1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(s, tc.p); got != tc.want {
				t.Errorf("Percentile(1..20, %v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(empty) = %v, want 0", got)
	}
}

func TestMillisAndDiv(t *testing.T) {
	got := Millis([]time.Duration{1500 * time.Microsecond, 2 * time.Second})
	if got[0] != 1.5 || got[1] != 2000 {
		t.Errorf("Millis = %v, want [1.5 2000]", got)
	}
	if r := Div(3, 4); r != 0.75 {
		t.Errorf("Div(3, 4) = %v", r)
	}
	if r := Div(1, 0); !math.IsNaN(r) {
		t.Errorf("Div(1, 0) = %v, want NaN", r)
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[n-1-i] = float64(i + 1) // descending, so sorting matters
	}
	return out
}

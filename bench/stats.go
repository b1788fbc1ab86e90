package main

import (
	"math"
	"slices"
	"time"
)

// Summary describes a sample: its size, median, extremes and 99th
// percentile. Values are in the sample's own unit.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	P99    float64 `json:"p99"`
}

// Summarize returns the summary of xs (which it does not modify). The
// median of an even-sized sample is the mean of the two middle values; P99
// is the nearest-rank percentile (the smallest value with at least 99% of
// the sample at or below it). An empty sample gives the zero Summary.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{N: n, Median: med, Min: s[0], Max: s[n-1], P99: Percentile(s, 99)}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, a slice in ascending order; 0 for an empty slice.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Millis converts durations to float milliseconds, the unit every timing
// in the report uses.
func Millis(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

// Div returns a/b, or NaN when b is zero (no comparison possible).
func Div(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

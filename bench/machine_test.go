package main

import "testing"

func TestMachineParsers(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t\t: fpu vme\n"
	if got := field(cpuinfo, "model name"); got != "Intel(R) Xeon(R) CPU @ 2.20GHz" {
		t.Errorf("model name = %q", got)
	}
	if got := field(cpuinfo, "missing"); got != "" {
		t.Errorf("missing key = %q, want empty", got)
	}
	tests := []struct {
		name, meminfo string
		want          int
	}{
		{"kB converted to MiB", "MemTotal:       24576000 kB\nMemFree: 1 kB\n", 24000},
		{"no MemTotal line", "MemFree: 1 kB\n", 0},
		{"garbled number", "MemTotal: lots kB\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := memTotalMiB(tc.meminfo); got != tc.want {
				t.Errorf("memTotalMiB = %d, want %d", got, tc.want)
			}
		})
	}
}

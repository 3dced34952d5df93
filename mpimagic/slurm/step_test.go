package slurm

import "testing"

func TestCPUs(t *testing.T) {
	for in, want := range map[string]int{"": 0, "4": 4, "16(x2)": 32, "16(x2),4": 36, "2,2,2": 6, "x": 0, "4(x": 0} {
		if got := CPUs(in); got != want {
			t.Errorf("CPUs(%q) = %d, want %d", in, got, want)
		}
	}
}

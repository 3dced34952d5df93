package slurm

import (
	"strings"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second:                 "00:01:00",
		time.Minute:                 "00:01:00",
		61 * time.Second:            "00:02:00",
		90 * time.Minute:            "01:30:00",
		24 * time.Hour:              "1-00:00:00",
		49*time.Hour + time.Second:  "2-01:01:00",
		23*time.Hour + 59*time.Hour: "3-10:00:00",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCheckEnv(t *testing.T) {
	if err := CheckEnv([]string{"A=1", "_b2=x=y"}); err != nil {
		t.Error(err)
	}
	if err := CheckEnv([]string{"A-B=1"}); err == nil || !strings.Contains(err.Error(), "not a name a shell can export") {
		t.Errorf("A-B=1: %v", err)
	}
}

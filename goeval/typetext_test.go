package goeval

import "testing"

func TestIsTypeText(t *testing.T) {
	for _, tt := range []struct {
		typ string
		ok  bool
	}{
		{"float64", true},
		{"Point", true},
		{"[]Point", true},
		{"*mat.Dense", true},
		{"map[string][]int", true},
		{"[3]float64", true},
		{"struct { X int \"json:\\\"x\\\"\" }", true},
		{"Pair[int, string]", true},
		{"List[Point]", true},
		{"int, 1); os.Exit(1", false},
		{"func() int", false},
		{"f()", false},
		{"[1 << 40]byte", false},
		{"[65536][65536]byte", false},
		{"a.b.c", false},
		{"", false},
	} {
		if got := IsTypeText(tt.typ, 64<<20); got != tt.ok {
			t.Errorf("IsTypeText(%q) = %v, want %v", tt.typ, got, tt.ok)
		}
	}
}

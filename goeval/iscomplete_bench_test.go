package goeval

import (
	"fmt"
	"testing"
)

// BenchmarkIsComplete measures the parse behind is_complete_request, which
// JupyterLab's console sends on every Enter (and waits 250 ms at most), on a
// short incomplete cell and on a 200-line complete one.
func BenchmarkIsComplete(b *testing.B) {
	long := ""
	for i := range 50 {
		long += fmt.Sprintf("func f%d() int {\n\tx := []int{1, 2, 3}\n\treturn len(x)\n}\n", i)
	}
	for _, bc := range []struct{ name, code, want string }{
		{"short", "for i := 0; i < 3; i++ {\n\tfmt.Println(i)", "incomplete"},
		{"200lines", long, "complete"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				if status, _ := IsComplete(bc.code); status != bc.want {
					b.Fatalf("IsComplete = %q, want %q", status, bc.want)
				}
			}
		})
	}
}

package goeval

import (
	"context"
	"testing"
)

// BenchmarkPrintCell measures a cell that prints, in a session that
// declares a type: such a cell is type-checked for its print call (see
// typed_fmt.go); with -run x -bench PrintCell, compare with EvalTrivial.
func BenchmarkPrintCell(b *testing.B) {
	ts := newTestSession(b)
	if _, err := ts.Eval(context.Background(), 1, "type celsius float64\nfunc (c celsius) String() string { return \"c\" }"); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if _, err := ts.Eval(context.Background(), 2+i, "fmt.Println(celsius(1), 2)"); err != nil {
			b.Fatal(err)
		}
	}
}

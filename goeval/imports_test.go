package goeval

import (
	"reflect"
	"testing"
)

func TestCellImports(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []Import
	}{
		{"none", "x := 1\nfmt.Println(x)", nil},
		{"single after a statement", "x := 1\nimport \"gonum.org/v1/gonum/mat\"\n", []Import{{"gonum.org/v1/gonum/mat", 2, 8}}},
		{"group", "import (\n\t\"fmt\"\n\tm \"example.com/lib\"\n)\n", []Import{{"fmt", 2, 2}, {"example.com/lib", 3, 2}}},
		{"syntax error", "import (\n\t\"fmt\"\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CellImports(tc.src); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("CellImports = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBuiltin(t *testing.T) {
	for p, want := range map[string]bool{
		"fmt": true, "slices": true, "iter": true, "github.com/mpigo/mpigo/display": true,
		"github.com/mpigo/mpigo/mpi": true, "gonum.org/v1/gonum/mat": false, "example.com/lib": false,
	} {
		if got := Builtin(p); got != want {
			t.Errorf("Builtin(%q) = %v, want %v", p, got, want)
		}
	}
}

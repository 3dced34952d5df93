package program

import (
	"reflect"
	"testing"

	"github.com/mpigo/mpigo/goeval"
)

func TestModuleImport(t *testing.T) {
	for path, want := range map[string]bool{
		"fmt":                            false,
		"math/rand/v2":                   false,
		"C":                              false,
		"github.com/mpigo/mpigo/mpi":     false,
		"github.com/mpigo/mpigo":         false,
		"gonum.org/v1/gonum/mat":         true,
		"example.com/greet":              true,
		"github.com/mpigo/mpigo-contrib": true,
	} {
		if got := ModuleImport(path); got != want {
			t.Errorf("ModuleImport(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestGeneratedImports checks that the imports a module must provide are
// named with the cell line that wrote them: the %mpirun line is line 1 of
// the cell, and an import of an earlier cell's declaration names that cell.
func TestGeneratedImports(t *testing.T) {
	decls := []goeval.Decl{
		{Kind: "import", Name: "stats", Src: `import "example.com/stats"`, Cell: 4, Line: 2},
		{Kind: "func", Name: "mean", Src: "func mean(x []float64) float64 { return stats.Mean(x) }", Cell: 4, Line: 3},
	}
	for _, tt := range []struct {
		name, body string
		want       []Import
	}{
		{"standard library and mpi only", "import \"os\"\nfmt.Println(os.Args, mpi.World.Rank())", nil},
		{"the cell's own import", "import \"fmt\"\n\nimport \"gonum.org/v1/gonum/mat\"\nfmt.Println(mat.NewDense(1, 1, nil))",
			[]Import{{Path: "gonum.org/v1/gonum/mat", File: CellFile, Line: 4}}},
		{"a group", "import (\n\t\"fmt\"\n\t\"example.com/greet\"\n)\nfmt.Println(greet.Hello())",
			[]Import{{Path: "example.com/greet", File: CellFile, Line: 4}}},
		{"unused: dropped, nothing to provide", "import \"example.com/greet\"\nx := 1", nil},
		{"through an earlier declaration", "fmt.Println(mean([]float64{1, 2}))",
			[]Import{{Path: "example.com/stats", File: "cell[4]", Line: 2}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gen, err := Generate(tt.body, decls, []string{"World"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gen.Imports, tt.want) {
				t.Errorf("Imports = %+v, want %+v\n%s", gen.Imports, tt.want, gen.Source)
			}
		})
	}
}

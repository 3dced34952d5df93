package program

import (
	"strings"
	"testing"
)

func TestExportSources(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		has, hasNot []string
	}{
		{
			name: "statements and earlier declarations",
			body: "rank := mpi.World.Rank() // mine\n// doc of f\nfunc f() int { return 1 }\np := P{roll()}\nfmt.Println(rank, p.Show(), greeting, f())\n// the end",
			has: []string{
				"// This program is cell[9] of a notebook",
				"import (\n\t\"fmt\"\n\tr \"math/rand\"\n\n\t\"github.com/mpigo/mpigo/mpi\"\n)\n",
				"// doc of f\nfunc f() int { return 1 }\n",
				"// From cell[1]:\nfunc roll() int {\n\tunused := 3\n\t_ = unused\n",
				"// From cell[3]:\ntype P struct{ X int }\n",
				"func main() {\n\tmpi.Init()\n\tfunc() {\n\t\t// cell[9]:\n\t\trank := mpi.World.Rank() // mine\n\n\t\tp := P{roll()}\n",
				"\t\t// the end\n\t}()\n\tmpi.Finalize()\n}\n",
			},
			hasNot: []string{"//line", "/*line", MPIAlias, "_ = rank", "_ = p", "DO NOT EDIT", "func stale"},
		},
		{
			name: "variables that are never read keep their mark",
			body: "type T struct{ d int }\na := 1\nb := 2\nb = 3\nc := 0\nc++\nd := 1\n_ = T{d: 2}\ne := []int{1}\ni := 0\nfor i = range e {\n}\nvar g, h int\nfmt.Println(h)",
			has:  []string{"a := 1\n\t\t_ = a\n", "b := 2\n\t\t_ = b\n", "c := 0\n\t\t_ = c\n", "d := 1\n\t\t_ = d\n", "var g, h int\n\t\t_ = g\n", "i := 0\n\t\t_ = i\n"},
			// e is read by its range clause
			hasNot: []string{"_ = e", "_ = h", "_, _"},
		},
		{
			name:   "a cell that uses the name mpi for itself",
			body:   "var mpi = 3\nfunc main() {\n\tfmt.Println(mpi)\n}",
			has:    []string{"func main() {\n\t" + MPIAlias + ".Init()\n\tdefer " + MPIAlias + ".Finalize()\n", MPIAlias + " \"github.com/mpigo/mpigo/mpi\""},
			hasNot: []string{"//line", "/*line"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, tidy, err := ExportSources(tt.body, testDecls, testExports, "cell[9]")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(plain), "//line") {
				t.Errorf("plain has //line directives:\n%s", plain)
			}
			src := string(tidy)
			for _, s := range tt.has {
				if !strings.Contains(src, s) {
					t.Errorf("program lacks %q:\n%s", s, src)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(src, s) {
					t.Errorf("program has %q:\n%s", s, src)
				}
			}
			for _, c := range []string{"// mine", "// doc of f", "// the end"} {
				if n := strings.Count(src, c); strings.Contains(tt.body, c) && n != 1 {
					t.Errorf("comment %q appears %d times:\n%s", c, n, src)
				}
			}
		})
	}
}

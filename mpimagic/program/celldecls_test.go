package program

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/goeval"
)

func summarize(ds []goeval.Decl) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%s %s@%d:%d", d.Kind, d.Name, d.Cell, d.Line))
	}
	return strings.Join(s, ", ")
}

func TestMergeDecls(t *testing.T) {
	fn := func(name string, cell int) goeval.Decl {
		return goeval.Decl{Kind: "func", Name: name, Src: "func " + name + "() {}", Cell: cell, Line: 1}
	}
	tests := []struct {
		name  string
		plain []goeval.Decl
		own   []goeval.Decl
		want  string
	}{
		{"disjoint, by cell", []goeval.Decl{fn("a", 3)}, []goeval.Decl{fn("b", 2)}, "func b@2:1, func a@3:1"},
		{"a later %mpirun cell wins", []goeval.Decl{fn("f", 2)}, []goeval.Decl{fn("f", 5)}, "func f@5:1"},
		{"a later plain cell wins", []goeval.Decl{fn("f", 6)}, []goeval.Decl{fn("f", 5)}, "func f@6:1"},
		{"a group loses to a later name", []goeval.Decl{{Kind: "const", Name: "a", Names: []string{"a", "b"}, Cell: 1, Line: 1}},
			[]goeval.Decl{{Kind: "var", Name: "b", Cell: 4, Line: 2}}, "var b@4:2"},
		{"imports apart from funcs", []goeval.Decl{{Kind: "import", Name: "strings", Cell: 1}},
			[]goeval.Decl{fn("strings", 2)}, "import strings@1:0, func strings@2:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(MergeDecls(tt.plain, tt.own)); got != tt.want {
				t.Errorf("MergeDecls = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCellDeclsRemember(t *testing.T) {
	var s Store
	s.Remember(3, "import \"strings\"\nrank := mpi.World.Rank()\nvar local = 1\nfunc shout(s string) string { return strings.ToUpper(s) }\nfmt.Println(shout(\"x\"), rank, local)\n", false)
	if got, want := summarize(s.Snapshot()), "import strings@3:2, func shout@3:5"; got != want {
		t.Fatalf("after cell 3: %s, want %s (var local is main's, lines count the %%mpirun line)", got, want)
	}
	s.Remember(4, "import \"github.com/mpigo/mpigo/mpi\"\nvar tag = 7\nfunc shout(s string) string { return s + \"!\" }\nfunc main() { mpi.Init(); defer mpi.Finalize() }\n", true)
	if got, want := summarize(s.Snapshot()), "import strings@3:2, var tag@4:3, func shout@4:4"; got != want {
		t.Fatalf("after cell 4: %s, want %s (its own main and the mpi import are not kept)", got, want)
	}
	s.Remember(5, "func (", false)
	if got := len(s.Snapshot()); got != 3 {
		t.Errorf("a cell that does not parse changed the store: %d declarations", got)
	}
	s.Reset()
	if got := s.Snapshot(); len(got) != 0 {
		t.Errorf("after reset: %v", got)
	}
}

func TestGenerateUsesEarlierMpirunCell(t *testing.T) {
	var s Store
	s.Remember(2, "func where() string { return mpi.ProcessorName() }\nfmt.Println(where())\n", false)
	g, err := Generate("fmt.Println(\"on\", where())\n", MergeDecls(nil, s.Snapshot()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(g.Source, "func where() string") || !strings.Contains(g.Source, "cell[2]:2") {
		t.Errorf("the program lacks where from cell[2] (line 2):\n%s", g.Source)
	}
}

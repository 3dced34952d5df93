package program

import (
	"errors"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/goeval"
)

func TestSplitChunks(t *testing.T) {
	tests := []struct {
		src     string
		kinds   []chunkKind
		hasMain bool
	}{
		{"x := 1\nfmt.Println(x)", []chunkKind{chunkStmt, chunkStmt}, false},
		{"import \"os\"\nfunc f() {}\ntype T int\nconst c = 1\nvar v = 2\nf()", []chunkKind{chunkImport, chunkDecl, chunkDecl, chunkDecl, chunkStmt, chunkStmt}, false},
		{"func (t T) M() {}\nfunc() { }()\nfunc(x int) int { return x }(3)", []chunkKind{chunkDecl, chunkStmt, chunkStmt}, false},
		{"for i := 0; i < 3; i++ {\n}\nif x := f(); x {\n}", []chunkKind{chunkStmt, chunkStmt, chunkStmt, chunkStmt, chunkStmt}, false},
		{"package main\nimport \"fmt\"\nvar v = 1\nfunc main() {\n\tfmt.Println(v)\n}", []chunkKind{chunkPackage, chunkImport, chunkDecl, chunkDecl}, true},
		{"func Map[T any](x T) T { return x }\nx := Map(1)", []chunkKind{chunkDecl, chunkStmt}, false},
		{"a := 1;;b := 2", []chunkKind{chunkStmt, chunkStmt, chunkStmt}, false},
		{"// only a comment\n", nil, false},
	}
	for _, tt := range tests {
		chunks, hasMain := splitChunks(tt.src)
		var kinds []chunkKind
		for _, c := range chunks {
			kinds = append(kinds, c.kind)
		}
		if !reflect.DeepEqual(kinds, tt.kinds) || hasMain != tt.hasMain {
			t.Errorf("splitChunks(%q) = %v, main %v; want %v, %v", tt.src, kinds, hasMain, tt.kinds, tt.hasMain)
		}
	}
}

// decls of earlier cells for the generation tests.
var testDecls = []goeval.Decl{
	{Kind: "import", Name: "r", Src: `import r "math/rand"`, Cell: 1, Line: 1},
	{Kind: "func", Name: "roll", Src: "func roll() int {\n\tunused := 3\n\treturn r.Intn(6) + 1\n}", Cell: 1, Line: 2},
	{Kind: "func", Name: "stale", Src: "func stale() int { return sessionVar }", Cell: 2, Line: 1},
	{Kind: "type", Name: "P", Src: "type P struct{ X int }", Cell: 3, Line: 1},
	{Kind: "func", Name: "P.Show", Src: "func (p P) Show() string {\n\treturn fmt.Sprint(p.X * N)\n}", Cell: 3, Line: 2},
	{Kind: "const", Name: "N", Names: []string{"N", "M"}, Src: "const (\n\tN = 4\n\tM = 5\n)", Cell: 3, Line: 5},
	{Kind: "var", Name: "greeting", Src: `var greeting = "hi"`, Cell: 4, Line: 1},
	{Kind: "import", Name: "strings", Src: `import "strings"`, Cell: 4, Line: 2},
	{Kind: "func", Name: "broken", Src: "func broken() int {\n\treturn sessionVar\n}", Cell: 5, Line: 3},
}

var testExports = []string{"Init", "Finalize", "World", "Sum"}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		has     []string // substrings of the program
		hasNot  []string
		picked  []string // names of the earlier declarations compiled in
		hasMain bool
	}{
		{
			name:   "statements",
			body:   "rank := mpi.World.Rank()\nfmt.Println(rank)",
			has:    []string{"import \"fmt\"", "import \"github.com/mpigo/mpigo/mpi\"", MPIAlias + ".Init()", MPIAlias + ".Finalize()", "//line " + CellFile + ":2:1\n", "_ = rank/*line " + CellFile + ":2:25*/"},
			hasNot: []string{"math/rand", "func roll"},
		},
		{
			name:   "earlier declarations, transitively, methods included",
			body:   "p := P{roll()}\nfmt.Println(p.Show(), greeting)",
			has:    []string{"//line cell[1]:1:1\nimport r \"math/rand\"", "//line cell[1]:2:1\nfunc roll()", "//line cell[3]:2:1\nfunc (p P) Show()", "//line cell[3]:5:1\nconst (", "//line cell[4]:1:1\nvar greeting", "unused := 3; _ = unused/*line cell[1]:3:13*/"},
			hasNot: []string{"func stale", "func broken", "\"strings\""},
			picked: []string{"roll", "P", "P.Show", "N", "greeting"},
		},
		{
			name:   "the cell's own declaration wins",
			body:   "func roll() int { return 7 }\nfmt.Println(roll())",
			has:    []string{"func roll() int { return 7 }"},
			hasNot: []string{"r.Intn", "math/rand"},
		},
		{
			name:   "unused imports of the cell are dropped, used ones kept",
			body:   "import (\n\t\"os\"\n\t\"strings\"\n)\nfmt.Println(strings.ToUpper(\"x\"))",
			has:    []string{"\t\"strings\"\n"},
			hasNot: []string{"\"os\""},
		},
		{
			name:    "a whole program",
			body:    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(mpi.World.Rank())\n}",
			has:     []string{"func main() {" + MPIAlias + ".Init(); defer " + MPIAlias + ".Finalize();/*line " + CellFile + ":6:14*/"},
			hasNot:  []string{"func() {\n"},
			hasMain: true,
		},
		{
			name: "standard packages the interpreter does not know",
			body: "syscall.Kill(syscall.Getpid(), 0)\ncmd := exec.Command(\"true\")\n_ = cmd",
			has:  []string{"import \"syscall\"", "import \"os/exec\""},
		},
		{
			name: "for and if headers stay statements",
			body: "for i := 0; i < 3; i++ {\n\tfmt.Println(i)\n}\nif x := 2; x > 1 {\n}",
			has:  []string{"for i := 0; i < 3; i++ {"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Generate(tt.body, testDecls, testExports)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parser.ParseFile(token.NewFileSet(), "main.go", g.Source, 0); err != nil {
				t.Fatalf("generated program does not parse: %v\n%s", err, g.Source)
			}
			for _, s := range tt.has {
				if !strings.Contains(g.Source, s) {
					t.Errorf("program lacks %q:\n%s", s, g.Source)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(g.Source, s) {
					t.Errorf("program has %q:\n%s", s, g.Source)
				}
			}
			var picked []string
			for _, d := range g.Inherited {
				picked = append(picked, d.Name)
			}
			if !reflect.DeepEqual(picked, tt.picked) {
				t.Errorf("compiled in %v, want %v", picked, tt.picked)
			}
			if g.HasMain != tt.hasMain {
				t.Errorf("HasMain = %v", g.HasMain)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		body string
		want string // regexp of the first error line
	}{
		{"a := 1\nb := )\n", `^` + regexp.QuoteMeta(CellFile) + `:3:6: `},
		{"fmt.Println(1)\n\tfunc( {", `^` + regexp.QuoteMeta(CellFile) + `:3:\d+: `},
		{"func main() {}\nfmt.Println(1)", `^` + regexp.QuoteMeta(CellFile) + `:3:1: a cell that declares func main holds declarations only`},
	}
	for _, tt := range tests {
		_, err := Generate(tt.body, nil, testExports)
		var ce *CompileError
		if !errors.As(err, &ce) || !regexp.MustCompile(tt.want).MatchString(ce.Lines[0]) {
			t.Errorf("Generate(%q) error = %v, want %s", tt.body, err, tt.want)
		}
	}
	if _, err := Generate("  // nothing\n\n", nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty cell: %v", err)
	}
}

func TestPathName(t *testing.T) {
	for p, want := range map[string]string{"fmt": "fmt", "math/rand/v2": "rand", "encoding/json": "json", "github.com/mpigo/mpigo/mpi": "mpi"} {
		if got := pathName(p); got != want {
			t.Errorf("pathName(%q) = %q, want %q", p, got, want)
		}
	}
}

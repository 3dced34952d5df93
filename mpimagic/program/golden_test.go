package program

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/goeval"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/generate from the generator's output")

// TestGenerateGolden runs the generator on the cases of
// testdata/generate/*.txtar, readable as examples of what an %mpirun cell
// becomes. Each archive holds the declarations of earlier cells ("decl
// KIND NAME CELL LINE" sections, the source as the session stored it),
// the cell below its %mpirun line ("cell"), an empty "out" section for a
// cell run with --out (GenerateOut), and the program Generate makes
// ("main.go"). go test ./mpimagic/program -run GenerateGolden -args -update
// rewrites main.go.
func TestGenerateGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/generate/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatal("no cases", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var decls []goeval.Decl
			var body string
			out := false
			want := -1
			for i, f := range ar.Files {
				switch fields := strings.Fields(f.Name); {
				case len(fields) == 5 && fields[0] == "decl":
					cell, _ := strconv.Atoi(fields[3])
					line, _ := strconv.Atoi(fields[4])
					decls = append(decls, goeval.Decl{Kind: fields[1], Name: fields[2], Src: strings.TrimSuffix(string(f.Data), "\n"), Cell: cell, Line: line})
				case f.Name == "cell":
					body = string(f.Data)
				case f.Name == "out":
					out = true
				case f.Name == "main.go":
					want = i
				default:
					t.Fatalf("unknown section %q", f.Name)
				}
			}
			generate := Generate
			if out {
				generate = GenerateOut
			}
			gen, err := generate(body, decls, testExports)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if want < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "main.go"})
					want = len(ar.Files) - 1
				}
				ar.Files[want].Data = []byte(gen.Source)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want < 0 {
				t.Fatal("no main.go section (go test -run GenerateGolden -update writes it)")
			}
			if got := gen.Source; got != string(ar.Files[want].Data) {
				t.Errorf("main.go:\n%s\nwant:\n%s", got, ar.Files[want].Data)
			}
		})
	}
}

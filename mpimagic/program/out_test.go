package program

import (
	"errors"
	"strings"
	"testing"
)

// TestGenerateOut checks where --out finds the final expression, and the
// OutError of a cell that has none, placed at the cell line (the %mpirun
// line is line 1).
func TestGenerateOut(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		at   Pos    // of the final expression, or of the error
		why  string // "" for success; else a part of the error
		send string // for success: what the program must hold
	}{
		{"expression", "x := 2\nx * 3\n", Pos{3, 1}, "", "mpigoOut.Send(/*line cell[mpirun]:3:1*/x * 3)"},
		{"trailing empty statements", "1.5;;\n", Pos{2, 1}, "", "mpigoOut.Send(/*line cell[mpirun]:2:1*/1.5)"},
		{"declaration after it", "7\nfunc f() {}\n", Pos{2, 1}, "", "mpigoOut.Send(/*line cell[mpirun]:2:1*/7)"},
		{"assignment", "x := 1\n  y := x\n", Pos{3, 3}, "the cell's last statement is not an expression", ""},
		{"for loop", "for i := 0; i < 2; i++ {\n}\n", Pos{2, 1}, "the cell's last statement is not an expression", ""},
		{"declarations only", "type T int\nfunc f() {}\n", Pos{3, 1}, "the cell has no statements", ""},
		{"own main", "import \"fmt\"\nfunc main() { fmt.Println(1) }\n", Pos{3, 1}, "the cell declares func main", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gen, err := GenerateOut(tt.body, nil, testExports)
			var oe *OutError
			switch {
			case tt.why == "" && err != nil:
				t.Fatalf("GenerateOut: %v", err)
			case tt.why == "":
				if gen.Out != tt.at || !strings.Contains(gen.Source, tt.send) {
					t.Errorf("Out = %+v, want %+v; source:\n%s", gen.Out, tt.at, gen.Source)
				}
			case !errors.As(err, &oe):
				t.Fatalf("GenerateOut = %v, want an *OutError", err)
			case oe.At != tt.at || !strings.Contains(oe.Error(), tt.why) || !strings.HasPrefix(oe.Error(), CellFile+":"):
				t.Errorf("error %q at %+v, want %q at %+v", oe.Error(), oe.At, tt.why, tt.at)
			}
		})
	}
}

// TestGenerateWithoutOut: Generate leaves the final expression alone and
// imports no rankout.
func TestGenerateWithoutOut(t *testing.T) {
	gen, err := Generate("x := 2\nx * 3\n", nil, testExports)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(gen.Source, OutAlias) || gen.Out != (Pos{}) {
		t.Errorf("a program without --out sends its value:\n%s", gen.Source)
	}
}

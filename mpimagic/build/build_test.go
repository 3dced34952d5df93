package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/program"
)

// positionDecls are the earlier cells of TestGeneratedPositions: cell[5]
// declares, from its line 3, a function that does not compile.
var positionDecls = []goeval.Decl{
	{Kind: "func", Name: "broken", Src: "func broken() int {\n\treturn sessionVar\n}", Cell: 5, Line: 3},
}

// stubMPI is a pure Go stand-in for package mpi, so that the compiler's own
// messages can be checked without MPI.
const stubMPI = `package mpi

type Comm struct{}

var World = &Comm{}

func (c *Comm) Rank() int { return 0 }
func Init()               {}
func Finalize()           {}
`

// TestGeneratedPositions builds generated programs with the Go compiler
// (against stubMPI) and checks that its errors name the cell's lines and
// the earlier cell of a declaration, and that what the notebook forgives
// (unused variables and imports) compiles.
func TestGeneratedPositions(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	mod := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(mod, "mpi"), 0o755))
	must(os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module "+ModulePath+"\n\ngo 1.22\n"), 0o644))
	must(os.WriteFile(filepath.Join(mod, "mpi", "mpi.go"), []byte(stubMPI), 0o644))
	tests := []struct {
		name string
		body string
		want []string // regexps of error lines; none: it builds
	}{
		{"forgiven", "import \"os\"\nrank := mpi.World.Rank()\nvar unused int\nfor i := 0; i < 2; i++ {\n\tx := i\n}\nfunc helper() { y := 1 }", nil},
		{"cell lines", "rank := mpi.World.Rank()\nfmt.Println(rank + \"x\")\n\tnope()", []string{
			`^cell\[mpirun\]:3:\d+: invalid operation: rank \+ "x"`, `^cell\[mpirun\]:4:2: undefined: nope`}},
		{"earlier cell", "fmt.Println(broken())", []string{`^cell\[5\]:4:9: undefined: sessionVar`}},
		{"columns after a marked variable", "a := 1; b := undefinedHere", []string{`^cell\[mpirun\]:2:14: undefined: undefinedHere`}},
		{"whole program", "package main\nfunc main() {\n\tvar s string = 1\n}", []string{`^cell\[mpirun\]:4:17: cannot use 1`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := program.Generate(tt.body, positionDecls, []string{"Init", "Finalize", "World", "Sum"})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(mod, "p"+string(rune('a'+i)))
			must(os.MkdirAll(dir, 0o755))
			must(os.WriteFile(filepath.Join(dir, "main.go"), []byte(g.Source), 0o644))
			cmd := exec.Command(goBin, "build", "-o", os.DevNull, ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("does not build: %s\n%s", out, g.Source)
				}
				return
			}
			if err == nil {
				t.Fatalf("built, want errors %q", tt.want)
			}
			ce, ok := buildError(string(out), err).(*program.CompileError)
			if !ok {
				t.Fatalf("not a compile error: %s", out)
			}
			if len(ce.Lines) != len(tt.want) {
				t.Fatalf("errors %q, want %q\n%s", ce.Lines, tt.want, g.Source)
			}
			for i, re := range tt.want {
				if !regexp.MustCompile(re).MatchString(ce.Lines[i]) {
					t.Errorf("error %q does not match %s", ce.Lines[i], re)
				}
			}
		})
	}
}

// TestWarm builds the warm-up programs with the MPI found here (skipped
// without one), then finds them built: a second Warm runs no go build.
func TestWarm(t *testing.T) {
	env := environ.New(os.Environ()...)
	mpirun, err := env.LookPath("mpirun")
	if err != nil {
		t.Skip("no mpirun")
	}
	tc, err := DetectToolchain(context.Background(), MPI{Mpirun: mpirun, Flavour: OpenMPI}, env)
	if err != nil {
		t.Skip(err)
	}
	src, err := LoadSources(mpigo.Sources)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(t.TempDir(), src)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Warm(context.Background(), tc, env); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mpigo-rankio", "mpigo-warm"} {
		p, err := c.Build(context.Background(), name, map[string][]byte{"main.go": []byte(map[string]string{"mpigo-rankio": WrapperMain, "mpigo-warm": warmMain}[name])}, tc, env, nil)
		if err != nil || !p.Cached {
			t.Errorf("%s after Warm: cached %v, %v", name, p != nil && p.Cached, err)
		}
	}
}

// TestWorkGoVersion: the go.work of `mpigo run DIR` (a module) is as new as
// the module needs, never older than the embedded sources.
func TestWorkGoVersion(t *testing.T) {
	for _, c := range []struct{ src, mod, want string }{
		{"1.24", "module m\n\ngo 1.26.8\n", "1.26.8"},
		{"1.24", "module m\n\ngo 1.25 // comment\n", "1.25"},
		{"1.24", "module m\n\ngo 1.22\n", "1.24"},
		{"1.24", "module m\n\ngo 1.24.0\n", "1.24.0"}, // the release: newer than the language version
		{"1.24", "module m\n", "1.24"},
		{"1.24", "module m\n\ngo 1.27rc1\n", "1.27rc1"},
		{"1.24", "module m\n\ngo junk\n", "1.24"},
	} {
		if got := workGoVersion(c.src, c.mod); got != c.want {
			t.Errorf("workGoVersion(%q, %q) = %q, want %q", c.src, c.mod, got, c.want)
		}
	}
}

package goeval

import (
	"context"
	"go/constant"
	"go/token"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval/internal/geom"
)

// geomPath is the import path of the test's compiled package.
const geomPath = "github.com/mpigo/mpigo/goeval/internal/geom"

var registerGeom sync.Once

// useGeom registers package geom as the kernel's generated main would,
// with the table yaegi extract writes (its generic Map and Pair left out).
func useGeom(t *testing.T) {
	t.Helper()
	registerGeom.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		Register(CompiledPackage{
			Path: geomPath, Name: "geom",
			Dir: filepath.Join(filepath.Dir(file), "internal", "geom"),
			Symbols: map[string]reflect.Value{
				// function, constant and variable definitions
				"Dim":       reflect.ValueOf(constant.MakeFromLiteral("2", token.INT, 0)),
				"NewSecret": reflect.ValueOf(geom.NewSecret),
				"NewVec":    reflect.ValueOf(geom.NewVec),
				"Origin":    reflect.ValueOf(&geom.Origin).Elem(),
				"Scale":     reflect.ValueOf(geom.Scale),

				// type definitions
				"Point":  reflect.ValueOf((*geom.Point)(nil)),
				"Secret": reflect.ValueOf((*geom.Secret)(nil)),
				"Vec":    reflect.ValueOf((*geom.Vec)(nil)),
			},
			Generic: []string{"Map", "Pair"},
		})
	})
}

func TestCompiledPackageCells(t *testing.T) {
	useGeom(t)
	tests := []struct {
		name, src string
		value     string      // the value shown, when no error
		kind      cellio.Kind // the error's kind
		errHas    []string    // what the error's message contains
		line, col int         // where the error is
	}{
		{name: "import and call", src: "import \"" + geomPath + "\"\ngeom.Scale(geom.Point{X: 1, Y: 2}, 2)", value: "{2 4}"},
		{name: "auto-import, method, var and const", src: "geom.Scale(geom.Point{X: 3, Y: 4}, 1).Norm() + geom.Origin.X + geom.Dim", value: "7"},
		{name: "type-checked cell", src: "n := 0\nfor _, p := range slices.All([]geom.Point{{X: 3, Y: 4}}) { n += int(p.Norm()) }\nn", value: "5"},
		{name: "generic func", src: "xs := []int{1}\nys := geom.Map(xs, func(i int) int { return i })",
			kind: cellio.CompileError, errHas: []string{"cell[1]:2:7: geom.Map is generic", "cannot call generic functions of compiled packages", "%mpirun", "%go get ./path"}, line: 2, col: 7},
		{name: "generic type in a declaration", src: "var p geom.Pair[int, string]",
			kind: cellio.CompileError, errHas: []string{"geom.Pair is generic"}, line: 1, col: 7},
		{name: "unknown package", src: "import \"example.com/not/here\"",
			kind: cellio.ImportError, errHas: []string{"package example.com/not/here is not available"}, line: 1, col: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestSession(t)
			v, err := ts.Eval(context.Background(), 1, tt.src)
			if tt.kind == "" {
				if err != nil || v.Text != tt.value {
					t.Fatalf("got %q, %v; want %q", v.Text, err, tt.value)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Name != tt.kind || e.Line != tt.line || e.Col != tt.col {
				t.Fatalf("got %#v, want a %s at %d:%d", err, tt.kind, tt.line, tt.col)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(e.Value, s) {
					t.Errorf("error %q lacks %q", e.Value, s)
				}
			}
		})
	}
}

func TestCompiledPackageTools(t *testing.T) {
	useGeom(t)
	if got := MissingImports("p := geom.Scale(geom.Origin, 2)", nil); !reflect.DeepEqual(got, []string{geomPath}) {
		t.Errorf("MissingImports = %q", got)
	}
	ts := newTestSession(t)
	cands, _, _ := ts.Completions("geom.", 5)
	want := map[string]Candidate{
		"Scale":  {Text: "Scale", Kind: KindFunction, Signature: "func(geom.Point, float64) geom.Point"},
		"Point":  {Text: "Point", Kind: KindType},
		"Origin": {Text: "Origin", Kind: KindVariable},
		"Dim":    {Text: "Dim", Kind: KindConstant},
		"Map":    {Text: "Map", Kind: KindFunction},
		"Pair":   {Text: "Pair", Kind: KindType},
	}
	for _, c := range cands {
		if w, ok := want[c.Text]; ok {
			if c != w {
				t.Errorf("candidate %+v, want %+v", c, w)
			}
			delete(want, c.Text)
		}
	}
	if len(want) > 0 {
		t.Errorf("completion of geom. lacks %v (got %v)", want, cands)
	}
	for _, tt := range []struct {
		code string
		has  []string
	}{
		{"geom.Scale", []string{"func Scale(p Point, k float64) Point", "Scale returns p scaled by k."}},
		{"geom.Point.Norm", []string{"func (p Point) Norm() float64", "distance of p from the origin"}},
		{"geom.Map", []string{"func Map[T, U any](xs []T, f func(T) U) []U"}},
		{"geom", []string{`package geom // import "` + geomPath + `"`, "small package"}},
	} {
		text, found := ts.Inspect(tt.code, len(tt.code), 0)
		for _, s := range tt.has {
			if !found || !strings.Contains(text, s) {
				t.Errorf("Inspect(%q) = %q, %v; want it to contain %q", tt.code, text, found, s)
			}
		}
	}
	// A reset interpreter has the package too.
	if err := ts.Reset(); err != nil {
		t.Fatal(err)
	}
	if v := ts.eval(t, 1, "geom.Dim * 2"); v.Text != "4" {
		t.Errorf("after Reset: %q", v.Text)
	}
}

package goeval

import (
	"context"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
)

// evalAll runs cells in a test session, failing on an error.
func evalAll(t testing.TB, ts *testSession, first int, cells ...string) {
	t.Helper()
	for i, c := range cells {
		if _, err := ts.Eval(context.Background(), first+i, c); err != nil {
			t.Fatalf("cell %q: %v", c, err)
		}
	}
}

// scanNeeds analyses a cell as Eval would and reports whether the scan
// sends it to the type check.
func scanNeeds(t *testing.T, ts *testSession, no int, src string) bool {
	t.Helper()
	c, err := analyzeCell(ts.ip.FileSet(), no, src, ts.isVar)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.planImports(c); err != nil {
		t.Fatal(err)
	}
	sc := ts.newTypedScan(c)
	for _, f := range []*ast.File{c.declFile, c.stmtFile} {
		if f != nil && sc.needs(f) {
			return true
		}
	}
	return false
}

const typedSetup = `func count(n int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}
func nums() []int { return []int{1} }
func Map[T, U any](xs []T, f func(T) U) []U {
	var out []U
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}`

// TestTypedScan checks which code the scan sends to the type check: only
// ranges whose operand may be a function, and uses of generic functions
// with inferred type arguments.
func TestTypedScan(t *testing.T) {
	ts := newTestSession(t)
	evalAll(t, ts, 1, typedSetup, "xs := []int{1, 2}\nm := map[string]int{}\nseq := count(2)\nconst k = 3")
	cases := []struct {
		src  string
		need bool
	}{
		{"1+1", false},
		{"for i, x := range []int{1} { _ = i + x }", false},
		{"for _, x := range xs { _ = x }", false},
		{"for k := range m { _ = k }", false},
		{`for _, r := range "abc" { _ = r }`, false},
		{`for _, s := range strings.Fields("a b") { _ = s }`, false},
		{"ys := []int{1}\nfor _, y := range ys { _ = y }", false},
		{"for _, n := range nums() { _ = n }", false},
		{"func f(a []string) { for _, s := range a { _ = s } }", false},
		{"type bag struct{ items []string }\nfunc (b *bag) n() (k int) { for range b.items { k++ }; return }", false},
		{"type box struct{ items []int }\nfunc g() { var c box; for range c.items {} }", false},
		{"for i := range k { _ = i }", false},
		{"fmt.Println(func() int { return 1 }())", false},
		{"Map[int, string](xs, func(i int) string { return \"\" })", false},
		{"for v := range seq { _ = v }", true},
		{"for v := range count(3) { _ = v }", true},
		{"func g(p interface{ All() func(func(int) bool) }) { for v := range p.All() { _ = v } }", true},
		{"Map(xs, func(i int) string { return \"\" })", true},
		{"Map[int](xs, func(i int) string { return \"\" })", true},
		{"import \"slices\"\nfunc h() []int { return slices.Clone(xs) }", true},
		{"undefinedFunc(func() {})", true},
	}
	for i, c := range cases {
		if got := scanNeeds(t, ts, 10+i, c.src); got != c.need {
			t.Errorf("%q: needs the type check = %v, want %v", c.src, got, c.need)
		}
	}
}

// TestNoTypeCheckForOrdinaryCells checks that cells without anything to
// lower never start the type checker (nor run the go command).
func TestNoTypeCheckForOrdinaryCells(t *testing.T) {
	ts := newTestSession(t)
	evalAll(t, ts, 1,
		"import \"strings\"\nfunc words(s string) []string { return strings.Fields(s) }",
		"n := 0\nfor _, w := range words(\"a b c\") { n += len(w) }\nn",
		"m := map[string]int{\"a\": 1}\nfor k, v := range m { fmt.Println(k, v) }",
		"func twice(f func(int) int, x int) int { return f(f(x)) }\ntwice(func(i int) int { return i + 1 }, 1)",
		"for i := range 3 { _ = i }",
	)
	if ts.typed != nil && (ts.typed.checks > 0 || ts.typed.importer.mode != "") {
		t.Errorf("ordinary cells ran %d type checks (importer mode %q)", ts.typed.checks, ts.typed.importer.mode)
	}
}

// TestTypeCheckErrors checks that a cell that does not type-check gets no
// facts, but that a range over a function there is reported with the
// error of go/types (yaegi would say "nil type").
func TestTypeCheckErrors(t *testing.T) {
	ts := newTestSession(t)
	evalAll(t, ts, 1, typedSetup, "xs := []int{1}")
	src := "x := Map(xs, func(i int) string { return undefinedName })\nfor v := range count(2) {\n\tfmt.Println(v)\n}"
	c, err := analyzeCell(ts.ip.FileSet(), 3, src, ts.isVar)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.planImports(c); err != nil {
		t.Fatal(err)
	}
	f := ts.typeCheck(c, ts.newTypedScan(c))
	if len(f.insts) != 0 {
		t.Errorf("facts from a cell with an error: %v", f.insts)
	}
	_, err = ts.Eval(context.Background(), 3, src)
	want := "CompileError: cell[3]:2:1: cannot lower this range over a function: the code has an error: cell[3]:1:42: undefined: undefinedName"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// TestRangeFactsAndDefs checks the facts of a cell: the yield types of its
// range over a function, written as the cell names them, and the types of
// the variables it defines, recorded for later cells.
func TestRangeFactsAndDefs(t *testing.T) {
	ts := newTestSession(t)
	evalAll(t, ts, 1, "import (\n\tstr \"strings\"\n\t\"time\"\n)")
	src := "func readers() func(func(*str.Reader, time.Duration) bool) { return nil }\n" +
		"type point struct{ x, y int }\n" +
		"p, d := point{1, 2}, 3*time.Second\n" +
		"for r, t := range readers() {\n\t_, _ = r, t\n}"
	c, err := analyzeCell(ts.ip.FileSet(), 2, src, ts.isVar)
	if err != nil {
		t.Fatal(err)
	}
	f := ts.typeCheck(c, ts.newTypedScan(c))
	if f.failed != nil {
		t.Fatal(f.failed)
	}
	rf, ok := f.ranges[posKey{"cell[2]/_.go", 4, 1}]
	if !ok || rf.err != nil || strings.Join(rf.params, ", ") != "*str.Reader, time.Duration" {
		t.Errorf("range fact %+v (found %v)", rf, ok)
	}
	if r := f.defs["d"]; r.typ != "__mpigo_t0.Duration" || r.imports["__mpigo_t0"] != "time" {
		t.Errorf("record of d: %+v", r)
	}
	if r := f.defs["p"]; r.typ != "point" {
		t.Errorf("record of p: %+v", r)
	}
}

// TestTypeWriter checks that a type is written only where its names mean
// it.
func TestTypeWriter(t *testing.T) {
	fset := token.NewFileSet()
	src := `package main
import "strings"
var _ strings.Builder
type T int
func f() {
	strings := 0
	_ = strings
	type T string
	_ = T("")
}`
	file, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: newCellImporter()}
	pkg, err := conf.Check("main", fset, []*ast.File{file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &typeWriter{pkg: pkg, imports: map[string]string{"strings": "strings"}}
	reader := types.NewPointer(pkg.Imports()[0].Scope().Lookup("Reader").Type())
	top := pkg.Scope().Lookup("T").Type()
	inF := file.Decls[3].(*ast.FuncDecl).Body.Rbrace - 1
	atTop := file.Decls[2].End()
	for _, c := range []struct {
		t    types.Type
		pos  token.Pos
		want string
	}{
		{types.NewSlice(reader), atTop, "[]*strings.Reader"},
		{reader, inF, "error: the name strings of package strings is hidden by a local name here"},
		{top, atTop, "T"},
		{top, inF, "error: T is not in scope"},
		{types.NewMap(types.Typ[types.String], types.Universe.Lookup("error").Type()), inF, "map[string]error"},
	} {
		got, err := w.write(c.t, c.pos)
		if err != nil {
			got = "error: " + err.(*unwritableError).why
		}
		if got != c.want {
			t.Errorf("write %v: %q, want %q", c.t, got, c.want)
		}
	}
	if _, err := recordType(types.NewPointer(top), pkg); err != nil {
		t.Errorf("record of *T: %v", err)
	}
	local := pkg.Scope().Innermost(inF).Lookup("T").Type()
	if _, err := recordType(local, pkg); err == nil {
		t.Errorf("a local type was recorded")
	}
}

// TestReflectTypes checks the conversion of the reflect types of values.
func TestReflectTypes(t *testing.T) {
	rc := &reflectTypes{imp: newCellImporter()}
	pkg := types.NewPackage("main", "main")
	var yield func(func(int, string) bool)
	var recv <-chan []error
	for _, c := range []struct {
		v    any
		want string // "" for no type
	}{
		{time.Second, "time.Duration"},
		{yield, "func(func(int, string) bool)"},
		{recv, "<-chan []error"},
		{map[string]any{}, "map[string]interface{}"},
		{[2]*strings.Builder{}, "[2]*strings.Builder"},
		{struct{ X int }{}, ""},
	} {
		typ, ok := rc.convert(reflect.TypeOf(c.v), pkg)
		got := ""
		if ok {
			got = types.TypeString(typ, nil)
		}
		if got != c.want {
			t.Errorf("%T: %q, want %q", c.v, got, c.want)
		}
	}
}

// TestUnsureReflectedTypes checks when a type read from a value could be
// a named type of the session seen as its underlying type.
func TestUnsureReflectedTypes(t *testing.T) {
	tparam := types.NewTypeParam(types.NewTypeName(token.NoPos, nil, "T", nil), types.NewInterfaceType(nil, nil))
	f64 := types.Typ[types.Float64]
	for _, c := range []struct {
		t, pattern types.Type
		want       bool
	}{
		{types.NewSlice(f64), f64, true}, // []Celsius seen as []float64
		{types.NewSlice(types.Typ[types.Int]), types.NewSlice(tparam), true},
		{types.NewMap(types.Typ[types.String], f64), types.NewSlice(tparam), false},
		{types.NewSlice(types.Typ[types.Int]), f64, false},
	} {
		got := false
		for _, comp := range components(c.t) {
			got = got || shapeMatch(comp, c.pattern)
		}
		if got != c.want {
			t.Errorf("%v could be %v: %v, want %v", c.t, c.pattern, got, c.want)
		}
	}
	var x []int
	if !reflectAgrees(types.NewSlice(types.Typ[types.Int]), reflect.TypeOf(x), 0) ||
		reflectAgrees(types.NewMap(types.Typ[types.Int], types.Typ[types.Int]), reflect.TypeOf(x), 0) {
		t.Errorf("reflectAgrees")
	}
}

// TestDisplayForTypeCheck checks that package display, whose source is not
// available, is known to the type check.
func TestDisplayForTypeCheck(t *testing.T) {
	p, err := newCellImporter().Import(displayPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"HTML":  "func(string)",
		"Image": "func(image.Image)",
		"Data":  "func(map[string]interface{})",
	} {
		obj := p.Scope().Lookup(name)
		if obj == nil || types.TypeString(obj.Type(), (*types.Package).Name) != want {
			t.Errorf("display.%s: %v, want %s", name, obj, want)
		}
	}
	ts := newTestSession(t)
	evalAll(t, ts, 1, typedSetup, "import \"github.com/mpigo/mpigo/display\"")
	v, err := ts.Eval(context.Background(), 3, "for v := range count(2) {\n\tdisplay.Text(fmt.Sprint(v))\n}\n\"ok\"")
	if err != nil || v.Text != `"ok"` {
		t.Errorf("a cell using display: %v %v", v, err)
	}
}

// stdIterators is a session with the iterators of the standard library
// (iter.Seq, slices.All, maps.Keys...), which the interpreter compiles
// from source (stdsrc.go); its outputs are those of the same program run
// by go run.
const stdIterators = `-- cell --
import (
	"iter"
	"maps"
	"slices"
)

func countTo(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 1; i <= n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}
-- cell --
for v := range countTo(3) {
	fmt.Print(v, " ")
}
-- stdout --
1 2 3
-- cell --
slices.Collect(countTo(4))
-- value --
[1 2 3 4]
-- cell --
m := map[string]int{"x": 1, "y": 2}
keys := slices.Sorted(maps.Keys(m))
keys
-- value --
[x y]
-- cell --
func sumSeq(seq iter.Seq[int]) int {
	t := 0
	for v := range seq {
		t += v
	}
	return t
}
sumSeq(countTo(10))
-- value --
55
-- cell --
for i, s := range slices.All([]string{"a", "b"}) {
	fmt.Print(i, s, " ")
}
-- stdout --
0a 1b
-- cell --
total := 0
for _, v := range maps.All(m) {
	total += v
}
total
-- value --
3
-- cell --
func firstKey(m map[string]int) string {
	for k := range maps.Keys(m) {
		return k
	}
	return ""
}
len(firstKey(m))
-- value --
1
`

// TestRangeOverStdIterators runs stdIterators over the interpreted
// package iter and the iterators of slices and maps (stdsrc).
func TestRangeOverStdIterators(t *testing.T) {
	ts := newTestSession(t)
	if _, err := ts.Eval(context.Background(), 1, `import "iter"`); err != nil {
		t.Fatalf("import \"iter\": %v", err)
	}
	runCorpus(t, txtar.Parse([]byte(stdIterators)))
}

// benchSession returns a session with the iterator of typedSetup defined.
func benchSession(b *testing.B) *testSession {
	ts := newTestSession(b)
	evalAll(b, ts, 1, typedSetup)
	return ts
}

// BenchmarkTypedCell measures a cell that is type-checked and lowered, in
// a session whose importer is warm.
func BenchmarkTypedCell(b *testing.B) {
	ts := benchSession(b)
	ctx := context.Background()
	cell := "t := 0\nfor v := range count(3) {\n\tt += v\n}\nt"
	evalAll(b, ts, 2, cell)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v, err := ts.Eval(ctx, 3+i, cell); err != nil || v.Text != "3" {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkFirstTypedCell measures the first type-checked cell of a
// session that imports a few packages: its importer reads their export
// data (the go command's listing of them is cached for the process after
// the first session; the first costs one run of go list -export).
func BenchmarkFirstTypedCell(b *testing.B) {
	ctx := context.Background()
	cell := "t := 0\nfor v := range count(3) {\n\tt += v\n}\nfmt.Sprint(t, strings.ToUpper(\"\"), time.Second)"
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := New(Options{Env: []string{}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Eval(ctx, 1, typedSetup); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if v, err := s.Eval(ctx, 2, cell); err != nil || v.Text != `"31s"` {
			b.Fatal(v, err)
		}
		b.StopTimer()
		s.Close()
	}
}

// BenchmarkUntypedCell measures the same loop over a slice: the scan
// alone.
func BenchmarkUntypedCell(b *testing.B) {
	ts := benchSession(b)
	ctx := context.Background()
	cell := "t := 0\nfor _, v := range []int{0, 1, 2} {\n\tt += v\n}\nt"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v, err := ts.Eval(ctx, 2+i, cell); err != nil || v.Text != "3" {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkLowerTypedTrivial measures what the lowering adds to a cell
// with nothing to lower (1+1): the scan of its statements.
func BenchmarkLowerTypedTrivial(b *testing.B) {
	ts := newTestSession(b)
	c, err := analyzeCell(ts.ip.FileSet(), 1, "1+1", ts.isVar)
	if err != nil {
		b.Fatal(err)
	}
	body := wrapperBody(c.stmtFile)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ts.lowerTyped(ts.ip.FileSet(), body, c); err != nil {
			b.Fatal(err)
		}
	}
}

// TestImporterModes checks both ways of importing the standard library:
// export data listed by the go command, and source (when there is no go
// command).
func TestImporterModes(t *testing.T) {
	gc := newCellImporter()
	if p, err := gc.Import("strings"); err != nil || p.Scope().Lookup("Builder") == nil {
		t.Fatalf("export data: %v %v", p, err)
	}
	if gc.mode != "gc" {
		t.Errorf("mode %q with a go command", gc.mode)
	}
	src := newCellImporter()
	src.mode, src.source = "source", importer.ForCompiler(src.fset, "source", nil)
	if p, err := src.Import("strings"); err != nil || p.Scope().Lookup("Builder") == nil {
		t.Fatalf("source: %v %v", p, err)
	}
}

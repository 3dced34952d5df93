package goeval

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// stdDecls returns the top-level function and type declarations of the
// interpreted packages: yaegi's generic sources, then mpigo's, whose
// declarations replace those of the same name (as in the interpreter).
func stdDecls(t *testing.T) map[string]map[string]*ast.FuncType {
	t.Helper()
	out := map[string]map[string]*ast.FuncType{}
	for _, src := range genericSources() {
		f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if out[f.Name.Name] == nil {
			out[f.Name.Name] = map[string]*ast.FuncType{}
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				out[f.Name.Name][fd.Name.Name] = fd.Type
			}
		}
	}
	return out
}

// goStdFuncs returns the exported functions of a package of Go's standard
// library, from its source in GOROOT.
func goStdFuncs(t *testing.T, pkg string) map[string]*ast.FuncType {
	t.Helper()
	dir := filepath.Join(build.Default.GOROOT, "src", pkg)
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no source of %s in GOROOT %s: the Go installation the kernel needs has it", pkg, build.Default.GOROOT)
	}
	out := map[string]*ast.FuncType{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && ast.IsExported(fd.Name.Name) {
				out[fd.Name.Name] = fd.Type
			}
		}
	}
	return out
}

// iterTypes matches the iterator types of Go's signatures.
var iterTypes = regexp.MustCompile(`\b(?:iter\.)?Seq(2?)\[([^\[\]]*)\]`)

// normType writes a type of a signature, Go's or mpigo's, in one form:
// mpigo's names of type parameters lose their underscore, its constraint
// cmp_Ordered is cmp.Ordered, and Go's iterator types are written out.
func normType(pkg string, e ast.Expr) string {
	s := types.ExprString(e)
	s = strings.ReplaceAll(s, "cmp_Ordered", "cmp.Ordered")
	s = regexp.MustCompile(`\b([A-Z][A-Za-z0-9]*)_\b`).ReplaceAllString(s, "$1")
	if pkg == "cmp" && s == "Ordered" {
		s = "cmp.Ordered"
	}
	return iterTypes.ReplaceAllString(s, "func(yield func($2) bool)")
}

// signature writes the type parameters, parameter and result types of a
// function in normType's form.
func signature(pkg string, ft *ast.FuncType) string {
	var b strings.Builder
	if ft.TypeParams != nil {
		for _, f := range ft.TypeParams.List {
			for range f.Names {
				b.WriteString("[" + normType(pkg, f.Type) + "]")
			}
		}
	}
	b.WriteString("(")
	for _, p := range fieldTypes(ft.Params) {
		b.WriteString(normType(pkg, p) + ";")
	}
	b.WriteString(")(")
	for _, r := range fieldTypes(ft.Results) {
		b.WriteString(normType(pkg, r) + ";")
	}
	b.WriteString(")")
	return b.String()
}

// TestStdSignatures checks that each exported function of Go's slices,
// maps, cmp and iter has an interpreted version with the same type
// parameters (constraints and order: the type-directed lowering writes out
// type arguments from Go's signatures) and the same parameter and result
// types (an iterator type being the function type it is).
func TestStdSignatures(t *testing.T) {
	mine := stdDecls(t)
	for _, pkg := range []string{"slices", "maps", "cmp", "iter"} {
		for name, goSig := range goStdFuncs(t, pkg) {
			ft := mine[pkg][name]
			if ft == nil {
				t.Errorf("%s.%s: no interpreted version", pkg, name)
				continue
			}
			if got, want := signature(pkg, ft), signature(pkg, goSig); got != want {
				t.Errorf("%s.%s: signature\n%s\nwant\n%s", pkg, name, got, want)
			}
		}
	}
}

// yaegiInferred returns the type parameters that yaegi v0.16 infers for a
// call of a generic function, in the order it gives them to the declared
// ones: the type parameters its parameters mention, in order, the way
// inferTypesFromCall walks them (element of a slice, key then value of a
// map, parameters then results of a function; nothing through a variadic
// parameter or a constraint).
func yaegiInferred(ft *ast.FuncType) []string {
	tps := map[string]bool{}
	for _, n := range typeParams(ft) {
		tps[n] = true
	}
	var out []string
	var walk func(e ast.Expr)
	walk = func(e ast.Expr) {
		switch x := e.(type) {
		case *ast.Ident:
			if tps[x.Name] {
				out = append(out, x.Name)
			}
		case *ast.ArrayType:
			walk(x.Elt)
		case *ast.StarExpr:
			walk(x.X)
		case *ast.ChanType:
			walk(x.Value)
		case *ast.MapType:
			walk(x.Key)
			walk(x.Value)
		case *ast.FuncType:
			for _, p := range fieldTypes(x.Params) {
				walk(p)
			}
			for _, r := range fieldTypes(x.Results) {
				walk(r)
			}
		}
	}
	// One parameter per field: yaegi takes the argument of field i for
	// field i.
	for _, f := range ft.Params.List {
		walk(f.Type)
	}
	return out
}

// TestInferVariants checks the functions that calls without type
// arguments use: each exported function either is one whose type
// arguments yaegi infers, or has a variant inferX that is, and each
// variant has its exported function.
func TestInferVariants(t *testing.T) {
	for pkg, funcs := range stdDecls(t) {
		if pkg == "cmp" {
			continue // yaegi's Ordered is a type; Compare and Less are fine
		}
		for name, ft := range funcs {
			if !ast.IsExported(name) || ft.TypeParams == nil {
				continue
			}
			check := name
			if v, ok := inferVariants()[pkg][name]; ok {
				check = v
			}
			vt := funcs[check]
			if vt == nil {
				t.Errorf("%s.%s: variant %s missing", pkg, name, check)
				continue
			}
			tps := typeParams(vt)
			if got := yaegiInferred(vt); len(got) < len(tps) || fmt.Sprint(got[:len(tps)]) != fmt.Sprint(tps) {
				t.Errorf("%s.%s: yaegi infers %v for type parameters %v", pkg, check, got, tps)
			}
		}
		for name, v := range inferVariants()[pkg] {
			if funcs[name] == nil || funcs[v] == nil {
				t.Errorf("%s: variant %s of %s: one is missing", pkg, v, name)
			}
		}
	}
}

// stdCalls are calls of functions of the interpreted packages, each in
// two ways: with type arguments written out (Go's signature, as the
// lowering writes it) and through the variant that a call without type
// arguments uses. The values are Go's (go run of the first form).
var stdCalls = []struct{ explicit, variant, want string }{
	{"slices.Clone[[]int, int](x)", "slices.inferClone(x)", "[3 1 2]"},
	{"slices.Sorted[int](slices.Values[[]int, int](x))", "slices.Sorted[int](slices.inferValues(x))", "[1 2 3]"},
	{"slices.Max[[]int, int](x)", "slices.inferMax(x)", "3"},
	{"slices.Min[[]string, string]([]string{\"b\", \"a\"})", "slices.inferMin([]string{\"b\", \"a\"})", "a"},
	{"slices.IsSorted[[]int, int](x)", "slices.inferIsSorted(x)", "false"},
	{"slices.Index[[]int, int](x, 2)", "slices.inferIndex(x, 2)", "2"},
	{"slices.Contains[[]int, int](x, 5)", "slices.inferContains(x, 5)", "false"},
	{"slices.ContainsFunc[[]int, int](x, func(v int) bool { return v > 2 })", "slices.inferContainsFunc(x, func(v int) bool { return v > 2 })", "true"},
	{"slices.Equal[[]int, int](x, []int{3, 1, 2})", "slices.inferEqual(x, []int{3, 1, 2})", "true"},
	{"slices.Compare[[]int, int](x, []int{3, 2})", "slices.inferCompare(x, []int{3, 2})", "-1"},
	{"slices.CompareFunc[[]int, []string, int, string](x, []string{\"3\"}, func(a int, b string) int { return strings.Compare(fmt.Sprint(a), b) })", "slices.inferCompareFunc(x, []string{\"3\"}, func(a int, b string) int { return strings.Compare(fmt.Sprint(a), b) })", "1"},
	{"slices.Insert[[]int, int](slices.Clone[[]int, int](x), 1, 7, 8)", "slices.inferInsert(slices.inferClone(x), 1, 7, 8)", "[3 7 8 1 2]"},
	{"slices.Delete[[]int, int](slices.Clone[[]int, int](x), 0, 2)", "slices.inferDelete(slices.inferClone(x), 0, 2)", "[2]"},
	{"slices.DeleteFunc[[]int, int](slices.Clone[[]int, int](x), func(v int) bool { return v == 1 })", "slices.inferDeleteFunc(slices.inferClone(x), func(v int) bool { return v == 1 })", "[3 2]"},
	{"slices.Replace[[]int, int](slices.Clone[[]int, int](x), 0, 1, 9, 9)", "slices.inferReplace(slices.inferClone(x), 0, 1, 9, 9)", "[9 9 1 2]"},
	{"slices.Compact[[]int, int]([]int{1, 1, 2})", "slices.inferCompact([]int{1, 1, 2})", "[1 2]"},
	{"slices.CompactFunc[[]string, string]([]string{\"a\", \"A\"}, strings.EqualFold)", "slices.inferCompactFunc([]string{\"a\", \"A\"}, strings.EqualFold)", "[a]"},
	{"len(slices.Grow[[]int, int](x, 5))", "len(slices.inferGrow(x, 5))", "3"},
	{"cap(slices.Clip[[]int, int](x[:1]))", "cap(slices.inferClip(x[:1]))", "1"},
	{"slices.Concat[[]int, int](x, x)", "slices.inferConcat(x, x)", "[3 1 2 3 1 2]"},
	{"slices.Repeat[[]int, int](x[:1], 3)", "slices.inferRepeat(x[:1], 3)", "[3 3 3]"},
	{"slices.MinFunc[[]int, int](x, cmp.Compare[int])", "slices.inferMinFunc(x, cmp.Compare[int])", "1"},
	{"slices.MaxFunc[[]int, int](x, cmp.Compare[int])", "slices.inferMaxFunc(x, cmp.Compare[int])", "3"},
	{"slices.IsSortedFunc[[]int, int](x, cmp.Compare[int])", "slices.inferIsSortedFunc(x, cmp.Compare[int])", "false"},
	{"slices.EqualFunc[[]int, []int, int, int](x, x, func(a, b int) bool { return a == b })", "slices.inferEqualFunc(x, x, func(a, b int) bool { return a == b })", "true"},
	{"slices.AppendSeq[[]int, int]([]int{0}, slices.Values[[]int, int](x))", "slices.inferAppendSeq([]int{0}, slices.inferValues(x))", "[0 3 1 2]"},
	{"slices.Collect[[]int](slices.Chunk[[]int, int](x, 2))", "slices.Collect[[]int](slices.inferChunk(x, 2))", "[[3 1] [2]]"},
	{"slices.Sorted[string](maps.Keys[map[string]int, string, int](m))", "slices.Sorted[string](maps.inferKeys(m))", "[a b]"},
	{"slices.Sorted[int](maps.Values[map[string]int, string, int](m))", "slices.Sorted[int](maps.inferValues(m))", "[1 2]"},
	{"len(maps.Collect[string, int](maps.All[map[string]int, string, int](m)))", "len(maps.Collect[string, int](maps.inferAll(m)))", "2"},
	{"maps.Clone[map[string]int, string, int](m)", "maps.inferClone(m)", "map[a:1 b:2]"},
	{"maps.Equal[map[string]int, map[string]int, string, int](m, m)", "maps.inferEqual(m, m)", "true"},
	{"maps.EqualFunc[map[string]int, map[string]int, string, int, int](m, m, func(a, b int) bool { return a != b })", "maps.inferEqualFunc(m, m, func(a, b int) bool { return a != b })", "false"},
	{"cmp.Or[string](\"\", \"z\")", "cmp.inferOr(\"\", \"z\")", "z"},
	{"slices.Collect[int](slices.Values[[]int, int](x))", "slices.Collect(slices.inferValues(x))", "[3 1 2]"},
	{"maps.Collect[int, int](slices.All[[]int, int](x))", "maps.Collect(slices.inferAll(x))", "map[0:3 1:1 2:2]"},
	{"maps.Collect[int, int](slices.Backward[[]int, int](x))", "maps.Collect(slices.inferBackward(x))", "map[0:3 1:1 2:2]"},
	{"slices.Collect[string](maps.Keys[map[string]int, string, int](m)) != nil", "slices.Collect(maps.inferKeys(m)) != nil", "true"},
	{"slices.Sorted[int](maps.Values[map[string]int, string, int](m))", "slices.Sorted(maps.inferValues(m))", "[1 2]"},
	{"maps.Collect[string, int](maps.All[map[string]int, string, int](m))", "maps.Collect(maps.inferAll(m))", "map[a:1 b:2]"},
	{"slices.Collect[[]int](slices.Chunk[[]int, int](x, 2))", "slices.Collect(slices.inferChunk(x, 2))", "[[3 1] [2]]"},
	{"slices.AppendSeq[[]int, int](nil, slices.Values[[]int, int](x))", "slices.inferAppendSeq([]int(nil), slices.inferValues(x))", "[3 1 2]"},
	{"sortedBy(func(s []int) { slices.SortFunc[[]int, int](s, cmp.Compare[int]) })", "sortedBy(func(s []int) { slices.inferSortFunc(s, cmp.Compare[int]) })", "[1 2 3]"},
	{"sortedBy(func(s []int) { slices.SortStableFunc[[]int, int](s, cmp.Compare[int]) })", "sortedBy(func(s []int) { slices.inferSortStableFunc(s, cmp.Compare[int]) })", "[1 2 3]"},
	{"sortedBy(func(s []int) { slices.Sort[[]int, int](s) })", "sortedBy(func(s []int) { slices.inferSort(s) })", "[1 2 3]"},
	{"sortedBy(func(s []int) { slices.Reverse[[]int, int](s) })", "sortedBy(func(s []int) { slices.inferReverse(s) })", "[2 1 3]"},
	{"slices.BinarySearchFunc[[]int, int, int]([]int{1, 3}, 2, cmp.Compare[int])", "slices.inferBinarySearchFunc([]int{1, 3}, 2, cmp.Compare[int])", "1 false"},
	{"slices.BinarySearch[[]int, int]([]int{1, 3}, 3)", "slices.inferBinarySearch([]int{1, 3}, 3)", "1 true"},
	{"len(slices.Collect[string](maps.Keys[map[string]int, string, int](nil)))", "len(slices.Collect(maps.inferKeys(map[string]int(nil))))", "0"},
}

// TestStdCalls runs stdCalls, in both orders: yaegi shares the instances
// of a generic function among calls with the same type arguments, which
// must therefore work from a cell and from another generic function in
// either order.
func TestStdCalls(t *testing.T) {
	for _, variantFirst := range []bool{false, true} {
		ts := newTestSession(t)
		ts.eval(t, 1, "x := []int{3, 1, 2}\nm := map[string]int{\"a\": 1, \"b\": 2}\nimport (\"cmp\"; \"maps\"; \"slices\"; \"strings\")\n"+
			"func sortedBy(f func([]int)) []int { s := slices.Clone[[]int, int](x); f(s); return s }")
		for i, tt := range stdCalls {
			calls := []string{tt.explicit, tt.variant}
			if variantFirst {
				calls[0], calls[1] = calls[1], calls[0]
			}
			for j, code := range calls {
				// Printed: yaegi cannot show some generic calls as final
				// values.
				v := ts.eval(t, 2+2*i+j, "fmt.Sprint("+code+")")
				if want := strconv.Quote(tt.want); !v.Ok || v.Text != want {
					t.Errorf("%s = %s (ok %v), want %s", code, v.Text, v.Ok, want)
				}
			}
		}
	}
}

// TestStdMembers checks what the package index knows of the interpreted
// functions: their numbers of results (which cell analysis uses), and
// that the variants are not members.
func TestStdMembers(t *testing.T) {
	for _, tt := range []struct {
		pkg, name, kind string
		out             int
	}{
		{"slices", "Sort", "func", 0},
		{"slices", "Clone", "func", 1},
		{"slices", "BinarySearch", "func", 2},
		{"slices", "Sorted", "func", 1},
		{"maps", "Keys", "func", 1},
		{"maps", "Copy", "func", 0},
		{"cmp", "Or", "func", 1},
		{"iter", "Pull", "func", 2},
		{"iter", "Pull2", "func", 2},
		{"iter", "Seq", "type", 0},
		{"slices", "inferSort", "", 0},
		{"cmp", "cmp_Ordered", "", 0},
	} {
		p := packages().byPath[tt.pkg]
		if p == nil {
			t.Fatalf("no package %s", tt.pkg)
		}
		if kind, out := p.kindOf(tt.name); kind != tt.kind || out != tt.out {
			t.Errorf("%s.%s: %q with %d results, want %q with %d", tt.pkg, tt.name, kind, out, tt.kind, tt.out)
		}
		if p.has(tt.name) != (tt.kind != "") {
			t.Errorf("%s.%s: has %v", tt.pkg, tt.name, p.has(tt.name))
		}
	}
	if got := MissingImports("var s iter.Seq[int]\nslices.Collect(s)", nil); fmt.Sprint(got) != "[iter slices]" {
		t.Errorf("MissingImports = %q", got)
	}
}

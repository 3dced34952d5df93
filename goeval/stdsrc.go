package goeval

import (
	_ "embed" // the interpreted sources
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/traefik/yaegi/interp"
	"golang.org/x/tools/go/ast/astutil"
)

// The generic standard library of cells.
//
// yaegi v0.16 has the non-generic symbols of slices, maps and cmp only
// (empty binary packages), and compiles from Go's own source, when
// stdlib.Symbols is used, a few of their generic functions; most of those
// fail when instantiated, because yaegi infers type arguments by position
// only: it gathers the types of the arguments as the parameters' types
// mention type parameters, in order, and gives them to the type parameters
// in the order they are declared. It can therefore infer neither E in
// S ~[]E nor anything from a variadic parameter, and it fails on a call
// that has fewer arguments than the function has parameters (a variadic
// one left empty). It also resolves a callee's type parameters and
// constraints in the caller's scope: a cell that declares a type T broke
// cmp.Compare[T Ordered].
//
// loadStdSources compiles mpigo's own implementations (stdsrc/*.go.txt)
// into the same packages: a second compilation of package slices adds its
// functions to the package yaegi compiled, and one of the same name
// replaces yaegi's (all of them, in slices and maps). Package iter, which
// yaegi lacks altogether, is compiled the same way; like every source
// package, it becomes visible under its name (yaegi puts source packages
// in its universe scope), and so does the helper package of the built-ins
// (builtins.go). A source package must also be executed, not only
// compiled: its non-generic functions are set up then.
//
// The functions have Go's type parameters: the type-directed lowering
// (typed.go) writes out the type arguments go/types infers from Go's own
// signatures, and a call with them compiles. A call without them (when the
// lowering did not apply) relies on yaegi's inference, which fails for
// most: those functions have a variant named inferX, written for yaegi's
// rules (parameters []E and map[K]V), which redirectStdCalls makes such a
// call call instead. See the comment of stdsrc/slices.go.txt for the rest
// of what the sources do for yaegi.

// stdSources are the interpreted packages, in the order in which they
// must be compiled: a package before those that import it.
var stdSources = []struct{ name, src string }{
	{"cmp", cmpSource},
	{"iter", iterSource},
	{"maps", mapsSource},
	{"slices", slicesSource},
	{builtinPkg, builtinSource},
	{errorsPkg, errorsSource},
}

//go:embed stdsrc/cmp.go.txt
var cmpSource string

//go:embed stdsrc/iter.go.txt
var iterSource string

//go:embed stdsrc/maps.go.txt
var mapsSource string

//go:embed stdsrc/slices.go.txt
var slicesSource string

//go:embed stdsrc/builtin.go.txt
var builtinSource string

//go:embed stdsrc/errors.go.txt
var errorsSource string

// sortsPath is the import path of the compiled sorts of slices of the
// ordered predeclared types, which the interpreted slices.Sort calls: a sort
// that calls an interpreted comparison is a hundred times slower.
const sortsPath = "github.com/mpigo/mpigo/goeval/sorts"

// sortsSymbols are the compiled sorts, named after sort.Ints.
var sortsSymbols = interp.Exports{sortsPath + "/sorts": {
	"Ints":     reflect.ValueOf(slices.Sort[[]int]),
	"Int8s":    reflect.ValueOf(slices.Sort[[]int8]),
	"Int16s":   reflect.ValueOf(slices.Sort[[]int16]),
	"Int32s":   reflect.ValueOf(slices.Sort[[]int32]),
	"Int64s":   reflect.ValueOf(slices.Sort[[]int64]),
	"Uints":    reflect.ValueOf(slices.Sort[[]uint]),
	"Uint8s":   reflect.ValueOf(slices.Sort[[]uint8]),
	"Uint16s":  reflect.ValueOf(slices.Sort[[]uint16]),
	"Uint32s":  reflect.ValueOf(slices.Sort[[]uint32]),
	"Uint64s":  reflect.ValueOf(slices.Sort[[]uint64]),
	"Uintptrs": reflect.ValueOf(slices.Sort[[]uintptr]),
	"Float32s": reflect.ValueOf(slices.Sort[[]float32]),
	"Float64s": reflect.ValueOf(slices.Sort[[]float64]),
	"Strings":  reflect.ValueOf(slices.Sort[[]string]),
}}

// loadStdSources compiles and runs the interpreted standard library and
// the helpers of the built-ins (see builtins.go) in ip, which must already
// use stdlib.Symbols.
func loadStdSources(ip *interp.Interpreter) error {
	if err := ip.Use(sortsSymbols); err != nil {
		return err
	}
	if err := ip.Use(newErrsSymbols()); err != nil {
		return err
	}
	for _, p := range stdSources {
		if err := loadSource(ip, p.name, p.src); err != nil {
			return fmt.Errorf("package %s: %w", p.name, err)
		}
	}
	return nil
}

// loadSource compiles and runs the source of a package. Its file is named
// after the package (positions in it read "stdsrc/slices.go:12:3"): yaegi
// keys the imports of a package by file name, and yaegi's own source of
// the package, in file "_.go", already imports cmp.
func loadSource(ip *interp.Interpreter, name, src string) error {
	f, err := parser.ParseFile(ip.FileSet(), "stdsrc/"+name+".go", src, parser.DeclarationErrors)
	if err != nil {
		return err
	}
	prog, err := compileAST(ip, f)
	if err != nil {
		return err
	}
	_, err = ip.Execute(prog)
	return err
}

// inferVariants maps each package of stdSources to its functions that have
// a variant for calls without type arguments, and their variants' names.
var inferVariants = sync.OnceValue(func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, p := range stdSources {
		f, err := parser.ParseFile(token.NewFileSet(), "", p.src, parser.SkipObjectResolution)
		if err != nil {
			panic(err)
		}
		names := topLevelMembers(f)
		for name := range names {
			fn := strings.TrimPrefix(name, "infer")
			if fn != name && ast.IsExported(fn) && names[fn].kind == "func" {
				if out[p.name] == nil {
					out[p.name] = map[string]string{}
				}
				out[p.name][fn] = name
			}
		}
	}
	return out
})

// redirectStdCalls makes the calls under root of functions of the
// interpreted standard library that have no type arguments call the
// function's variant, if it has one (slices.Sort(x) becomes
// slices.inferSort(x)). A call is replaced, not changed: the cell keeps
// the original of its final expression, to decide how to show its value.
func (s *Session) redirectStdCalls(root ast.Node, c *cellCode, kind kindFunc) {
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		call, ok := cur.Node().(*ast.CallExpr)
		if !ok {
			return true
		}
		se, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := se.X.(*ast.Ident)
		if !ok || x.Obj != nil || !isPkgKind(kind(x.Name)) {
			return true
		}
		if v, ok := inferVariants()[s.pkgPath(c, x.Name)][se.Sel.Name]; ok {
			cp := *call
			cp.Fun = &ast.SelectorExpr{X: se.X, Sel: ident(v, se.Sel.Pos())}
			cur.Replace(&cp)
		}
		return true
	})
}

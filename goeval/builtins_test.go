package goeval

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"testing"

	"github.com/mpigo/mpigo/cellio"
)

// TestConstLiteral checks that the literal written for a constant is the
// same constant: same type (and kind, untyped), same exact value.
func TestConstLiteral(t *testing.T) {
	for _, expr := range []string{
		"1", "-3", "1 << 70", "'a'", "-'a'", "2.5", "-0.5", "1.0 / 3", "1e100", "1e-30", "max(3, 2.0)",
		`"a\tb"`, "true", "int8(-3)", "float32(0.1)", "uint64(1 << 63)", "float64(1) / 3", "string('x')",
	} {
		tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		lit, ok := constLiteral(tv)
		if !ok {
			t.Errorf("%s: no literal", expr)
			continue
		}
		back, err := types.Eval(token.NewFileSet(), nil, token.NoPos, lit)
		if err != nil {
			t.Errorf("%s: literal %s: %v", expr, lit, err)
			continue
		}
		if !types.Identical(back.Type, tv.Type) || !constant.Compare(back.Value, token.EQL, tv.Value) {
			t.Errorf("%s: literal %s is %v %v, want %v %v", expr, lit, back.Type, back.Value, tv.Type, tv.Value)
		}
	}
}

// TestRewriteBuiltins checks what calls of min, max and clear become in a
// function: a constant, or a call of a helper whose first argument gives
// yaegi the type argument.
func TestRewriteBuiltins(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "const k = 4\nimport (\"math\"; \"time\")")
	for _, tt := range []struct{ call, want string }{
		{"min(a, b)", "__mpigo_builtin.Min(a, a, b)"},
		{"max(1, a)", "__mpigo_builtin.Max(a, 1, a)"},
		{"min(a)", "__mpigo_builtin.Min(a, a)"},
		{"min(2, g(), a)", "__mpigo_builtin.Min(a, 2, g(), a)"},
		{"min(2, g(), g())", "__mpigo_builtin.MinV(g(), 2, g())"},
		{"max(g())", "__mpigo_builtin.Ordered(g())"},
		{"max(p.x, len(s))", "__mpigo_builtin.Max(p.x, p.x, len(s))"},
		{"max(time.Second, g())", "__mpigo_builtin.MaxV(g(), time.Second)"},
		{"max(time.Second, d)", "__mpigo_builtin.Max(d, time.Second, d)"},
		{"max(time.Second, 2*time.Second)", "__mpigo_builtin.MaxV(2 * time.Second, time.Second)"},
		{"min(y, 15)", "(10)"}, // y: the function's const
		{"max(1, 2.5)", "(2.5)"},
		{"min(k, 2.5)", "(2.5)"},
		{"max('a', 1)", `(('\x00' + 97))`},
		{"min(int8(3), 2)", "(int8(2))"},
		{`max("a", "b", "")`, `("b")`},
		{"min(1.0/3, 1)", "((1.0 / 3))"},
		{"min(math.Pi, 3)", "(3.0)"},
		{"max(-1, -2)", "((-1))"},
		{"clear(s)", "__mpigo_builtin.Clear(s)"},
		// The function's own min: left as it is.
		{"func() int { min := func(x, y int) int { return x }; return min(a, b) }()", ""},
	} {
		src := declPrefix + "func f(a, b int, s []int, g func() int, p struct{ x int }, d time.Duration) {\n" +
			"const (\n\tx = iota * 10\n\ty\n)\n_ = " + tt.call + "\n}"
		f, err := parser.ParseFile(ts.ip.FileSet(), srcName, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.rewriteBuiltins(ts.ip.FileSet(), f, nil); err != nil {
			t.Errorf("%s: %v", tt.call, err)
			continue
		}
		want := tt.want
		if want == "" {
			want = types.ExprString(mustParseExpr(t, tt.call))
		}
		rhs := f.Decls[0].(*ast.FuncDecl).Body.List[1].(*ast.AssignStmt).Rhs[0]
		if got := types.ExprString(rhs); got != want {
			t.Errorf("%s became %s, want %s", tt.call, got, want)
		}
	}
}

// TestBuiltinErrors checks the compile errors of bad calls: Go's messages,
// at the cell line of the call.
func TestBuiltinErrors(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "xs := []int{1}\nf := 1.5")
	for i, tt := range []struct{ cell, want string }{
		{"min()", "cell[2]:1:1: invalid operation: not enough arguments for min() (expected 1, found 0)"},
		{"\nclear(3)", "cell[3]:2:1: invalid argument: cannot clear 3 (untyped int constant): argument must be (or constrained by) map or slice"},
		{"clear(nil)", "cell[4]:1:1: invalid argument: cannot clear nil: argument must be (or constrained by) map or slice"},
		{"_ = max(1, true)", "cell[5]:1:5: invalid argument: true (untyped bool constant) cannot be ordered"},
		{"_ = min(xs...)", "cell[6]:1:11: invalid operation: invalid use of ... with built-in min"},
		{"clear(f)", "cell[7]:1:1: invalid argument: cannot clear f (variable of type float64): argument must be (or constrained by) map or slice"},
		{"_ = max(xs, 1)", "cell[8]:1:9: invalid argument: xs (variable of type []int) cannot be ordered"},
		{"clear()", "cell[9]:1:7: invalid operation: not enough arguments for clear() (expected 1, found 0)"},
		{"const c = min(f, 1)", "cell[10]:1:11: min(f, 1) is not a constant mpigo can evaluate: a constant min takes literals and constants of basic types"},
		{"var g1, g3 = 2.5, 1.5\nvar g2 = max(g1, g3)", "cell[11]:2:5: yaegi cannot initialize a package-level var with min or max of values that are not constant; define it in a statement instead (g2 := ...)"},
	} {
		_, err := ts.Eval(t.Context(), i+2, tt.cell)
		e, ok := err.(*Error)
		if !ok || e.Name != cellio.CompileError || e.Value != tt.want {
			t.Errorf("%q: error %v, want CompileError: %s", tt.cell, err, tt.want)
			continue
		}
		var n, line, col int
		fmt.Sscanf(tt.want, "cell[%d]:%d:%d", &n, &line, &col)
		if e.Line != line || e.Col != col {
			t.Errorf("%q: at %d:%d, want %d:%d", tt.cell, e.Line, e.Col, line, col)
		}
	}
}

// mustParseExpr parses an expression.
func mustParseExpr(t *testing.T, src string) ast.Expr {
	t.Helper()
	e, err := parser.ParseExpr(src)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

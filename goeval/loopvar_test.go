package goeval

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"strings"
	"testing"
)

// rewrittenFunc parses body as the body of a function, applies
// rewriteLoopVars to the file and returns the printed function before and
// after, on one line each (spaces collapsed).
func rewrittenFunc(t *testing.T, body string) (before, after string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", "package p\nfunc f() {\n"+body+"\n}\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	before = printOneLine(t, fset, f)
	if err := rewriteLoopVars(fset, f, nil); err != nil {
		t.Fatal(err)
	}
	return before, printOneLine(t, fset, f)
}

// printOneLine prints n with its spaces and newlines collapsed to single
// spaces.
func printOneLine(t *testing.T, fset *token.FileSet, n ast.Node) string {
	t.Helper()
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, n); err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestRewriteLoopVars(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // fragments of the result; none: unchanged
	}{
		{"no capture", "for i := 0; i < n; i++ { s += i }", nil},
		{"assigned, not declared", "for i = 0; i < 3; i++ { fs = append(fs, func() int { return i }) }", nil},
		{"literal without the variable", "for i := 0; i < 3; i++ { g := func() int { return 1 }; s += g() }", nil},
		{"value passed to go", "for i := 0; i < 3; i++ { go work(i) }", []string{"__mpigo_i, __mpigo_first := 0, true"}},
		{"address", "for i := 0; i < 3; i++ { ps = append(ps, &i) }", []string{
			"for __mpigo_i, __mpigo_first := 0, true; ; __mpigo_first = false { i := __mpigo_i",
			"if !__mpigo_first { i++ } if !(i < 3) { break } { ps = append(ps, &i) } __mpigo_i = i }"}},
		{"several variables", "for i, j := 0, 9; i < j; i, j = i+1, j-1 { use(&j) }", []string{
			"__mpigo_i, __mpigo_j, __mpigo_first := 0, 9, true", "i, j := __mpigo_i, __mpigo_j", "__mpigo_i, __mpigo_j = i, j"}},
		{"blank", "for _, j := 0, 9; j > 0; j-- { use(&j) }", []string{"_, __mpigo_j, __mpigo_first := 0, 9, true", "j := __mpigo_j"}},
		{"call with several results", "for a, b := f(); a < b; a++ { use(&a) }", []string{
			"for __mpigo_first, __mpigo_again := true, true; __mpigo_again; __mpigo_again = false { for __mpigo_a, __mpigo_b := f(); ; __mpigo_first = false {"}},
		{"no post, no cond", "for i := 0; ; { use(&i); i++ }", []string{"for __mpigo_i, __mpigo_first := 0, true; ; __mpigo_first = false { i := __mpigo_i { use(&i)"}},
		{"continue", "for i := 0; i < 3; i++ { if i == 1 { continue }; use(&i) }", []string{
			"goto __mpigo_next1", "__mpigo_next1: __mpigo_i = i"}},
		{"continue of an inner loop kept", "for i := 0; i < 3; i++ { for j := 0; j < i; j++ { continue }; use(&i) }", []string{
			"for j := 0; j < i; j++ { continue }"}},
		{"labelled continue from an inner loop", "L: for i := 0; i < 3; i++ { for j := 0; j < i; j++ { continue L }; use(&i) }", []string{
			"L: for __mpigo_i", "for j := 0; j < i; j++ { goto __mpigo_next1 }"}},
		{"break kept", "for i := 0; i < 3; i++ { switch { case i > 1: break }; if i > 2 { break }; use(&i) }", []string{
			"case i > 1: break", "if i > 2 { break }"}},
		{"range", "for k, v := range m { use(&v); _ = k }", []string{"for k, v := range m { k, v := k, v { use(&v)"}},
		{"range blank key", "for _, v := range xs { fs = append(fs, func() int { return v }) }", []string{"for _, v := range xs { v := v {"}},
		{"range field read", "for _, p := range ps { s += p.x }", []string{"p := p"}},
		{"range, nothing observed", "for _, v := range xs { s += v }", nil},
		{"method call in post", "for c := counter(0); c < 3; c.inc() { s += int(c) }", []string{"if !__mpigo_first { c.inc() }"}},
		{"literal argument", "for i := 0; i < 3; i++ { time.AfterFunc(d, func() { use(i) }) }", []string{
			"time.AfterFunc(d, []func(){func() { use(i) }}[0])"}},
		{"literal argument, typed", "for _, s := range xs { sort.Slice(s, func(a, b int) bool { return s[a] < s[b] }) }", []string{
			"[]func(int, int) bool{func(a, b int) bool"}},
		{"nested, both rewritten", "for i := 0; i < 2; i++ { for j := 0; j < 2; j++ { fs = append(fs, func() int { return i + j }) } }", []string{
			"i := __mpigo_i", "j := __mpigo_j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, after := rewrittenFunc(t, tt.body)
			if tt.want == nil {
				if after != before {
					t.Errorf("changed:\n%s\nbecame\n%s", before, after)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(after, w) {
					t.Errorf("result\n%s\nlacks\n%s", after, w)
				}
			}
		})
	}
}

// topLevel parses src as the top-level statements of a cell and applies
// rewriteLoopVars to their block.
func topLevel(t *testing.T, src string) (string, error) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "cell[1]/"+srcName, stmtPrefix+"\n"+src+"\n}", 0)
	if err != nil {
		t.Fatal(err)
	}
	body := wrapperBody(f)
	err = rewriteLoopVars(fset, body, &cellCode{no: 1})
	return printOneLine(t, fset, body), err
}

func TestRewriteLoopVarsTopLevel(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // fragment of the result, or of the error
		wantErr   bool
	}{
		{"wrapped", "x := 1\nfor i := 0; i < 3; i++ { fs = append(fs, func() int { return i }) }",
			"x := 1 func() { for __mpigo_i", false},
		{"body variable wrapped", "for _, v := range xs { w := v; fs = append(fs, func() int { return w }) }",
			"func() { for _, v := range xs {", false},
		{"hot loop left alone", "for i := 0; i < 3; i++ { s += i }", "{ for i := 0; i < 3; i++ { s += i } }", false},
		{"goto elsewhere", "for i := 0; i < 3; i++ { use(&i) }\nL: n++\nif n < 3 { goto L }", "{ func() {", false},
		{"goto out", "for i := 0; i < 3; i++ { use(&i); goto L }\nL: n++",
			"cell[1]:2:1: mpigo: cannot give this loop one copy of its variables per iteration", true},
		{"goto in", "L: for i := 0; i < 3; i++ { use(&i) }\ngoto L", "the goto at cell[1]:3:1 jumps across it", true},
		{"goto out, body variable only", "for { w := 1; use(&w); goto L }\nL: n++", "{ for { w := 1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := topLevel(t, tt.src)
			if tt.wantErr {
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(e.Value, tt.want) || e.Line != 2 {
					t.Fatalf("error %v, want one with %q at the loop", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("result\n%s\nlacks\n%s", got, tt.want)
			}
		})
	}
}

func TestObservable(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"a + i", false},
		{"&i", true},
		{"&a[i]", false},
		{"&i.f", true},
		{"&(i)[0]", true},
		{"i[:]", true},
		{"a[i:]", false},
		{"i.M()", true},
		{"a.M(i)", false},
		{"func() int { return i }", true},
		{"func(i int) int { return i }", true}, // by name: rewritten for nothing
		{"func() int { return a }", false},
	}
	for _, tt := range tests {
		e, err := parser.ParseExpr(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := observable([]string{"i"}, e); got != tt.want {
			t.Errorf("observable(%s) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

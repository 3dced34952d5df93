package goeval

import (
	"go/parser"
	"go/token"
	"testing"
)

func TestRewriteMultiValues(t *testing.T) {
	tests := []struct {
		src  string
		want string // the statement after; "": unchanged
	}{
		{"n, err = -1, fmt.Errorf(\"bad\")", "n, err = -1, (fmt.Errorf(\"bad\"))"},
		{"t, b := T{3}, 7", "t, b := (T{3}), 7"},
		{"a, b = <-ch, 8", "a, b = (<-ch), 8"},
		{"var v, w = -x, g()", "var v, w = -x, (g())"},
		{"a, b = b, a", ""},
		{"a, b = f(), g()", "a, b = (f()), (g())"},
		{"a, b = f()", ""},
		{"x = f()", ""},
		{"a, b = (f()), 1", ""},
		{"a, b := -f(), 1", ""},
	}
	for _, tt := range tests {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", "package p\nfunc f() {\n"+tt.src+"\n}\n", 0)
		if err != nil {
			t.Fatal(err)
		}
		before := printOneLine(t, fset, f)
		rewriteMultiValues(f)
		after := printOneLine(t, fset, f)
		want := before
		if tt.want != "" {
			want = "package p func f() { " + tt.want + " }"
		}
		if after != want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.src, after, want)
		}
	}
}

package goeval

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestVariables(t *testing.T) {
	s := newSession(t)
	cell := "type Point struct {\n\tX, Y int\n\tlabel string\n}\n" +
		"x := 42\np := &Point{1, 2, \"a\"}\nxs := make([]int, 150)\nm := map[string]int{\"b\": 2, \"a\": 1}\nvar f = 2.5\n"
	if _, err := s.Eval(context.Background(), 1, cell); err != nil {
		t.Fatal(err)
	}
	got := map[string]VarInfo{}
	var order []string
	for _, v := range s.Variables() {
		got[v.Name] = v
		order = append(order, v.Name)
	}
	tests := []struct {
		name, typ, value string
		children         string // the children as name=value, joined by spaces
	}{
		{"x", "int", "42", ""},
		{"f", "float64", "2.5", ""},
		{"p", "*Point", "&{1 2 a}", `X=1 Y=2 label="a"`},
		{"m", "map[string]int", "map[a:1 b:2]", `"a"=1 "b"=2`},
	}
	for _, tt := range tests {
		v, ok := got[tt.name]
		if !ok {
			t.Errorf("%s not listed (listed: %v)", tt.name, order)
			continue
		}
		var kids []string
		for _, c := range v.Children {
			kids = append(kids, c.Name+"="+c.Value)
		}
		if v.Type != tt.typ || v.Value != tt.value || strings.Join(kids, " ") != tt.children {
			t.Errorf("%s = %s %s [%s], want %s %s [%s]", tt.name, v.Type, v.Value, strings.Join(kids, " "), tt.typ, tt.value, tt.children)
		}
	}
	xs := got["xs"].Children
	if len(xs) != VarWidth+1 || xs[VarWidth].Name != "..." || xs[VarWidth].Value != fmt.Sprintf("%d more", 150-VarWidth) {
		t.Errorf("xs: %d children, last %+v", len(xs), xs[len(xs)-1])
	}
}

func TestVariableText(t *testing.T) {
	s := newSession(t)
	if _, err := s.Eval(context.Background(), 1, `s := []string{"a"}`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"s", "[a]", true},
		{"nope", "", false},
		{`os.Exit(1)`, "", false}, // never evaluated: only names of variables are
	}
	for _, tt := range tests {
		got, err := s.VariableText(tt.name)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("VariableText(%q) = %q, %v", tt.name, got, err)
		}
	}
}

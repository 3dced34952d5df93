package goeval

import (
	"context"
	"strings"
	"testing"
)

func TestCarryVars(t *testing.T) {
	useGeom(t)
	decls := "import \"" + geomPath + "\"\n" +
		"type Point struct { X, Y int; name string }\n" +
		"func (p Point) Sum() int { return p.X + p.Y }\n" +
		"type Celsius float64\n" +
		"func (c Celsius) F() float64 { return float64(c)*9/5 + 32 }\n" +
		"var total = 10\n"
	tests := []struct {
		name, def string
		check     string // an expression on the carried variable, in the new session
		want      string // its value there; "" if lost
		lost      string // what the reason it is lost contains
	}{
		{name: "n", def: "n := 42", check: "n + 1", want: "43"},
		{name: "f", def: "f := 2.5", check: "f * 2", want: "5"},
		{name: "s", def: `s := "hé"`, check: "s", want: `"hé"`},
		{name: "xs", def: "xs := []float64{1, 2, 3}", check: "xs", want: "[1 2 3]"},
		{name: "m", def: `m := map[string]int{"a": 1}`, check: "m", want: "map[a:1]"},
		{name: "arr", def: "arr := [2]bool{true, false}", check: "arr", want: "[true false]"},
		{name: "p", def: `p := Point{1, 2, "p"}`, check: "p.Sum()*10 + len(p.name)", want: "31"},
		{name: "pp", def: `pp := &Point{3, 4, "q"}`, check: "pp.Sum()", want: "7"},
		{name: "c", def: "c := Celsius(100)", check: "c.F()", want: "212"},
		{name: "gp", def: "gp := geom.Point{X: 3, Y: 4}", check: "gp.Norm()", want: "5"},
		{name: "v", def: "v := geom.NewVec(1, 2)", check: "v.At(1)", want: "2"},
		{name: "nilp", def: "var nilp *Point", check: "nilp == nil", want: "true"},
		{name: "total", def: "total = 11", check: "total", want: "11"},
		{name: "fn", def: "fn := func() int { return 1 }", lost: "is a func"},
		{name: "ch", def: "ch := make(chan int)", lost: "is a channel"},
		{name: "sec", def: `sec := geom.NewSecret("a", 1)`, lost: "field code is unexported"},
		{name: "e", def: "e := any(3)", lost: "interface"},
		{name: "fs", def: "fs := []func(){}", lost: "its part [] is a func"},
	}
	var b strings.Builder
	for _, tt := range tests {
		b.WriteString(tt.def + "\n")
	}
	from := newTestSession(t)
	from.eval(t, 1, decls)
	from.eval(t, 2, b.String())
	vars, lost := from.ExportVars()
	wantTypes := map[string]string{"p": "Point", "pp": "*Point", "c": "Celsius", "gp": "geom.Point", "v": "*geom.Vec", "xs": "[]float64", "m": "map[string]int", "nilp": "*Point"}
	for _, v := range vars {
		if w, ok := wantTypes[v.Name]; ok && v.Type != w {
			t.Errorf("%s has type %q, want %q", v.Name, v.Type, w)
		}
	}
	lostWhy := map[string]string{}
	for _, l := range lost {
		lostWhy[l.Name] = l.Why
	}

	to := newTestSession(t)
	var replay strings.Builder
	for _, d := range from.Decls() {
		replay.WriteString(d.Src + "\n")
	}
	to.eval(t, 1, replay.String())
	for _, l := range to.ImportVars(vars) {
		t.Errorf("import lost %s: %s", l.Name, l.Why)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.lost != "" {
				if !strings.Contains(lostWhy[tt.name], tt.lost) {
					t.Errorf("lost because %q, want %q", lostWhy[tt.name], tt.lost)
				}
				return
			}
			if why, ok := lostWhy[tt.name]; ok {
				t.Fatalf("lost: %s", why)
			}
			v, err := to.Eval(context.Background(), 10+i, tt.check)
			if err != nil || v.Text != tt.want {
				t.Errorf("%s = %q, %v; want %q", tt.check, v.Text, err, tt.want)
			}
		})
	}
}

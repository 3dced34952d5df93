package goeval

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// rankValues runs cell on one session per rank (each with decls first) and
// returns what LastValue gave on each.
func rankValues(t *testing.T, decls string, cells []string) ([]CarriedVar, []json.RawMessage) {
	t.Helper()
	var vals []CarriedVar
	var jsons []json.RawMessage
	for _, cell := range cells {
		s := newSession(t)
		if decls != "" {
			if _, err := s.Eval(context.Background(), 1, decls); err != nil {
				t.Fatalf("decls: %v", err)
			}
		}
		if _, err := s.Eval(context.Background(), 2, cell); err != nil {
			t.Fatalf("%q: %v", cell, err)
		}
		cv, js, err := s.LastValue()
		if err != nil {
			t.Fatalf("LastValue after %q: %v", cell, err)
		}
		vals, jsons = append(vals, cv), append(jsons, js)
	}
	return vals, jsons
}

func TestLastValueImportSlice(t *testing.T) {
	const point = "type Point struct { X, Y float64 }"
	tests := []struct {
		name     string
		decls    string // in the ranks' and the notebook's sessions
		nbDecls  string // in the notebook's only, when it differs
		cells    []string
		wantType string // of the values LastValue gives
		check    string // an expression on out in the notebook session
		want     string
	}{
		{name: "float64", cells: []string{"x := 1.5\nx", "x := 2.5\nx"}, wantType: "float64", check: "out[0] + out[1]", want: "4"},
		{name: "expression", cells: []string{"2 * 3", "4 * 5"}, wantType: "int", check: "out[1] - out[0]", want: "14"},
		{name: "slice", cells: []string{"[]float64{1, 2}", "[]float64{3}"}, wantType: "[]float64", check: "len(out[0]) + len(out[1])", want: "3"},
		{name: "map", cells: []string{`map[string]int{"a": 1}`, `map[string]int{"a": 2}`}, wantType: "map[string]int", check: `out[0]["a"] + out[1]["a"]`, want: "3"},
		{name: "struct", decls: point, cells: []string{"p := Point{1, 2}\np", "p := Point{3, 4}\np"}, wantType: "Point", check: "out[1].X + out[0].Y", want: "5"},
		{name: "struct literal", decls: point, cells: []string{"Point{1, 2}", "Point{3, 4}"}, wantType: "Point", check: "out[1].X + out[0].Y", want: "5"},
		{name: "pointer to a struct literal", decls: point, cells: []string{"&Point{1, 2}", "&Point{3, 4}"}, wantType: "*Point", check: "out[1].X + out[0].Y", want: "5"},
		{name: "unknown type falls back to any", decls: point, nbDecls: "var unrelated = 1", cells: []string{"p := Point{1, 2}\np", "p := Point{3, 4}\np"}, wantType: "Point", check: `out[1].(map[string]any)["X"]`, want: "3"},
		{name: "different types fall back to any", cells: []string{"1", `"a"`}, check: "out[1]", want: `"a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, jsons := rankValues(t, tt.decls, tt.cells)
			if tt.wantType != "" && vals[0].Type != tt.wantType {
				t.Errorf("type %q, want %q", vals[0].Type, tt.wantType)
			}
			nb := newSession(t)
			decls := tt.decls
			if tt.nbDecls != "" {
				decls = tt.nbDecls
			}
			if decls != "" {
				if _, err := nb.Eval(context.Background(), 1, decls); err != nil {
					t.Fatal(err)
				}
			}
			if err := nb.ImportSlice("out", vals, jsons); err != nil {
				t.Fatal(err)
			}
			v, err := nb.Eval(context.Background(), 3, tt.check)
			if err != nil || v.Text != tt.want {
				t.Errorf("%s = %q (%v), want %q", tt.check, v.Text, err, tt.want)
			}
		})
	}
}

func TestLastValueNone(t *testing.T) {
	s := newSession(t)
	for _, cell := range []string{"x := 1", "f := func() {}\nf"} {
		if _, err := s.Eval(context.Background(), 1, cell); err != nil {
			t.Fatal(err)
		}
		var ve *ValueError
		if _, _, err := s.LastValue(); !errors.As(err, &ve) {
			t.Errorf("after %q: LastValue error %v, want a *ValueError", cell, err)
		}
	}
}

func TestImportSliceBadName(t *testing.T) {
	s := newSession(t)
	for _, name := range []string{"", "_", "1x", "a b", "func"} {
		var ve *ValueError
		if err := s.ImportSlice(name, nil, []json.RawMessage{json.RawMessage("1")}); !errors.As(err, &ve) || ve.Name != name {
			t.Errorf("ImportSlice(%q) = %v, want a *ValueError naming it", name, err)
		}
	}
}

// TestImportSliceNeverEvaluatesWhatIsNotAType: the type text comes from
// another process; text that is not a type expression goes in as JSON.
func TestImportSliceNeverEvaluatesWhatIsNotAType(t *testing.T) {
	s := newSession(t)
	hostile := `int, 0); panic("evaluated"`
	vals := []CarriedVar{{Name: "v", Type: hostile}, {Name: "v", Type: hostile}}
	jsons := []json.RawMessage{json.RawMessage("1"), json.RawMessage("2")}
	if err := s.ImportSlice("v", vals, jsons); err != nil {
		t.Fatal(err)
	}
	res, err := s.Eval(context.Background(), 1, `fmt.Sprintf("%T %v", v, v)`)
	if err != nil || res.Text != `"[]interface {} [1 2]"` {
		t.Fatalf("v = %q, %v; want []any from JSON", res.Text, err)
	}
}

// newSession returns a session closed when the test ends.
func newSession(t *testing.T) *Session {
	t.Helper()
	s, err := New(Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

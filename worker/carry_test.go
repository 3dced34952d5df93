package worker

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/goeval"
)

// TestCarryVarsOps carries variables from one interpreter process to
// another through the exportVars and importVars operations.
func TestCarryVarsOps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	from := startEngine(t)
	if _, err := run(t, from, 1, "xs := []int{1, 2}\nfn := func() {}", celliotest.New(), false); err != nil {
		t.Fatal(err)
	}
	r, err := from.call(ctx, request{Op: opExportVars})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Vars) != 1 || r.Vars[0].Name != "xs" || r.Vars[0].Type != "[]int" {
		t.Errorf("carried %+v, want xs of type []int", r.Vars)
	}
	if len(r.Lost) != 1 || r.Lost[0].Name != "fn" {
		t.Errorf("lost %+v, want fn", r.Lost)
	}

	to := startEngine(t)
	back, err := to.call(ctx, request{Op: opImportVars, Vars: r.Vars})
	if err != nil || len(back.Lost) > 0 {
		t.Fatalf("importVars: %v, lost %+v", err, back.Lost)
	}
	res, err := run(t, to, 2, "xs", celliotest.New(), false)
	if err != nil || res.Data["text/plain"] != "[1 2]" {
		t.Errorf("xs = %v, %v; want [1 2]", res.Data["text/plain"], err)
	}
}

// TestSetSlice declares a slice of values carried from ranks (%px --out)
// through the importSlice operation: typed when the values share a type
// the session knows, else []any of their JSON values; a bad name fails.
func TestSetSlice(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := startEngine(t)
	f64 := func(x float64) goeval.CarriedVar {
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(x); err != nil {
			t.Fatal(err)
		}
		return goeval.CarriedVar{Type: "float64", Value: b.Bytes()}
	}
	tests := []struct {
		name  string
		vals  []goeval.CarriedVar
		jsons []json.RawMessage
		check string
		want  string
		fails bool
	}{
		{name: "typed", vals: []goeval.CarriedVar{f64(1.5), f64(2)}, jsons: []json.RawMessage{[]byte("1.5"), []byte("2")}, check: "typed[0] + typed[1]", want: "3.5"},
		{name: "untyped", vals: []goeval.CarriedVar{{Type: "Unknown", Value: []byte{1}}, {}}, jsons: []json.RawMessage{[]byte(`{"a":1}`), []byte("null")}, check: `untyped[0].(map[string]any)["a"] == 1.0 && untyped[1] == nil`, want: "true"},
		{name: "bad name", vals: nil, jsons: []json.RawMessage{[]byte("1")}, fails: true},
	}
	for i, tt := range tests {
		name := strings.ReplaceAll(tt.name, " ", "-")
		err := e.SetSlice(ctx, name, tt.vals, tt.jsons)
		if tt.fails {
			if err == nil {
				t.Errorf("%s: SetSlice succeeded", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		res, err := run(t, e, i+1, tt.check, celliotest.New(), false)
		if err != nil || res.Data["text/plain"] != tt.want {
			t.Errorf("%s: %s = %v (%v), want %s", tt.name, tt.check, res.Data["text/plain"], err, tt.want)
		}
	}
}

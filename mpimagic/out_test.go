package mpimagic

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// TestOutValues: the ranks' values go to SetOut in rank order; the first
// rank whose value cannot go into the notebook is an *OutValueError naming
// it and why.
func TestOutValues(t *testing.T) {
	val := func(typ, js string) *rankio.Value {
		return &rankio.Value{Type: typ, Gob: []byte{1}, JSON: json.RawMessage(js)}
	}
	for _, tt := range []struct {
		name   string
		values []*rankio.Value
		vals   []goeval.CarriedVar
		jsons  []json.RawMessage
		err    string // part of the error; "" for none
	}{
		{"typed", []*rankio.Value{val("float64", "0"), val("float64", "1.5")},
			[]goeval.CarriedVar{{Name: "x", Type: "float64", Value: []byte{1}}, {Name: "x", Type: "float64", Value: []byte{1}}},
			[]json.RawMessage{json.RawMessage("0"), json.RawMessage("1.5")}, ""},
		{"json only", []*rankio.Value{{JSON: json.RawMessage(`{"a":1}`)}},
			[]goeval.CarriedVar{{Name: "x"}}, []json.RawMessage{json.RawMessage(`{"a":1}`)}, ""},
		{"no value", []*rankio.Value{val("int", "1"), nil}, nil, nil, "rank 1: sent no value back"},
		{"gob failed", []*rankio.Value{{Err: "gob cannot encode it: x"}}, nil, nil, "rank 0: its value cannot be brought back: gob cannot encode it: x"},
		{"empty", []*rankio.Value{{}}, nil, nil, "rank 0: its value cannot be brought back: it sent neither gob nor JSON"},
		{"bad type", []*rankio.Value{val("int, 1); panic(0", "1")}, nil, nil, "which is not one"},
		{"bad json", []*rankio.Value{val("int", "{")}, nil, nil, "rank 0: its value's JSON encoding is not JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			results := make([]launch.RankResult, len(tt.values))
			for i, v := range tt.values {
				results[i] = launch.RankResult{Rank: i, Value: v}
			}
			vals, jsons, err := outValues("x", results)
			var ve *OutValueError
			switch {
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err != "" && (!errors.As(err, &ve) || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want an *OutValueError saying %q", err, tt.err)
			case tt.err == "" && (!reflect.DeepEqual(vals, tt.vals) || !reflect.DeepEqual(jsons, tt.jsons)):
				t.Errorf("outValues = %+v %s, want %+v %s", vals, jsons, tt.vals, tt.jsons)
			}
		})
	}
}

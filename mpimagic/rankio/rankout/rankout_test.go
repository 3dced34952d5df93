package rankout

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

func TestStripMain(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"main.Point", "Point"},
		{"[]main.Point", "[]Point"},
		{"map[main.K]*main.V", "map[K]*V"},
		{"*mat.Dense", "*mat.Dense"},
		{"domain.X", "domain.X"},
		{"func(main.P) main.Q", "func(P) Q"},
		{"main.Pair[main.X]", "Pair[X]"},
		{"float64", "float64"},
	} {
		if got := stripMain(tt.in); got != tt.want {
			t.Errorf("stripMain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type point struct{ X, Y float64 }

type hidden struct {
	X int
	y int
}

// TestEncode checks what each kind of value brings back: gob with its
// type where gob can carry it, JSON where encoding/json can, an error
// naming why where neither can.
func TestEncode(t *testing.T) {
	for _, tt := range []struct {
		name     string
		enc      func() rankio.Value
		typ      string
		json     string
		gob      bool
		errMatch string
	}{
		{"float", func() rankio.Value { return Encode(1.5) }, "float64", "1.5", true, ""},
		{"struct", func() rankio.Value { return Encode(point{1, 2}) }, "rankout.point", `{"X":1,"Y":2}`, true, ""},
		{"slice", func() rankio.Value { return Encode([]int{1, 2}) }, "[]int", "[1,2]", true, ""},
		{"nil slice", func() rankio.Value { return Encode([]int(nil)) }, "[]int", "null", false, ""},
		{"interface: json only", func() rankio.Value { return Encode(map[string]any{"a": 1}) }, "", `{"a":1}`, false, ""},
		{"unexported field: json only", func() rankio.Value { return Encode(hidden{1, 2}) }, "", `{"X":1}`, false, ""},
		{"func: neither", func() rankio.Value { return Encode(func() {}) }, "", "", false, "is a func(), which gob cannot encode"},
		{"chan: neither", func() rankio.Value { return Encode(make(chan int)) }, "", "", false, "chan int"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.enc()
			if v.Type != tt.typ || string(v.JSON) != tt.json || (len(v.Gob) > 0) != tt.gob {
				t.Errorf("Encode = type %q json %s gob %d bytes, want %q %s %v", v.Type, v.JSON, len(v.Gob), tt.typ, tt.json, tt.gob)
			}
			if tt.errMatch == "" && v.Err != "" || tt.errMatch != "" && !strings.Contains(v.Err, tt.errMatch) {
				t.Errorf("Err = %q, want it to say %q", v.Err, tt.errMatch)
			}
		})
	}
	var p point
	if err := gob.NewDecoder(bytes.NewReader(Encode(point{3, 4}).Gob)).Decode(&p); err != nil || p != (point{3, 4}) {
		t.Errorf("gob decodes %+v, %v", p, err)
	}
}

// TestMarshalTooLarge: a value past rankio.MaxValue is replaced by the
// error that says so, small enough to go back.
func TestMarshalTooLarge(t *testing.T) {
	var v rankio.Value
	if err := json.Unmarshal(Marshal(make([]byte, rankio.MaxValue)), &v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Err, "too large") || v.Gob != nil || v.JSON != nil {
		t.Errorf("Marshal of a huge value: %+v", v)
	}
}

// TestSend writes the value to the fd $MPIGO_RANKIO_VALUE names, and
// nowhere without it.
func TestSend(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Setenv(rankio.ValueEnvVar, strconv.Itoa(int(w.Fd())))
	Send(2.5) // closes w
	var v rankio.Value
	if err := json.NewDecoder(r).Decode(&v); err != nil || v.Type != "float64" || string(v.JSON) != "2.5" {
		t.Errorf("sent %+v, %v", v, err)
	}
	t.Setenv(rankio.ValueEnvVar, "")
	Send(1) // nothing to write to: no panic, no write
}

package worker

import (
	"context"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"reflect"
	"testing"
	"time"
)

// TestCompleteTypes checks that the interpreter process reports, for each
// match, what it names and a function's signature, index for index.
func TestCompleteTypes(t *testing.T) {
	e := startEngine(t)
	if _, err := run(t, e, 1, "var counter int", celliotest.New(), false); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		code           string
		matches, types []string
		signatures     []string
		start, end     int
	}{
		{"strings.ToUp", []string{"ToUpper", "ToUpperSpecial"}, []string{"function", "function"},
			[]string{"func(string) string", "func(unicode.SpecialCase, string) string"}, 8, 12},
		{"coun", []string{"counter"}, []string{"variable"}, []string{""}, 0, 4},
		{"strcon", []string{"strconv"}, []string{"module"}, []string{""}, 0, 6},
		{"zzzz", []string{}, nil, nil, 0, 4},
	} {
		t.Run(tt.code, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := e.Complete(ctx, tt.code, len(tt.code))
			if err != nil {
				t.Fatal(err)
			}
			want := Completion{Matches: tt.matches, Start: tt.start, End: tt.end, Types: tt.types, Signatures: tt.signatures}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("Complete(%q) = %+v, want %+v", tt.code, c, want)
			}
		})
	}
}

package goeval

import (
	"testing"
)

// TestCompletionKinds checks the kind (and signature) Completions gives each
// sort of candidate, and that Complete's matches are Completions' texts.
func TestCompletionKinds(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "type Point struct{ X, Y int }\nfunc (p Point) Norm() int { return p.X*p.X + p.Y*p.Y }\n"+
		"pt := Point{X: 1}\nvar counter int\nconst limit = 3\nfunc double(x int) int { return 2 * x }\nimport str \"strings\"")
	for _, tt := range []struct {
		code, text, kind, signature string
	}{
		{"strings.ToUp", "ToUpper", KindFunction, "func(string) string"},
		{"strings.Build", "Builder", KindType, ""},
		{"math.P", "Pi", KindConstant, ""},
		{"os.Std", "Stdout", KindVariable, ""},
		{"cmp.Comp", "Compare", KindFunction, ""}, // generic: compiled from source, no symbol
		{"strin", "strings", KindPackage, ""},
		{"str", "str", KindPackage, ""}, // an import's name
		{"coun", "counter", KindVariable, ""},
		{"p", "pt", KindVariable, ""},
		{"lim", "limit", KindConstant, ""},
		{"doub", "double", KindFunction, ""},
		{"Poi", "Point", KindType, ""},
		{"pt.No", "Norm", KindMethod, ""},
		{"pt.", "X", KindField, ""},
		{"fo", "for", KindKeyword, ""},
		{"appe", "append", KindFunction, ""},
		{"float6", "float64", KindType, ""},
		{"comparab", "comparable", KindType, ""},
		{"io", "iota", KindConstant, ""},
		{"aVeryLocalName := 1; aVery", "aVeryLocalName", KindText, ""},
	} {
		t.Run(tt.code, func(t *testing.T) {
			cursor := len([]rune(tt.code))
			cands, _, _ := ts.Completions(tt.code, cursor)
			matches, _, _ := ts.Complete(tt.code, cursor)
			if len(matches) != len(cands) {
				t.Fatalf("Complete gave %d matches, Completions %d candidates", len(matches), len(cands))
			}
			var got *Candidate
			for i := range cands {
				if cands[i].Text != matches[i] {
					t.Errorf("candidate %d is %q, match %q", i, cands[i].Text, matches[i])
				}
				if cands[i].Text == tt.text {
					got = &cands[i]
				}
			}
			if got == nil {
				t.Fatalf("no candidate %q in %v", tt.text, cands)
			}
			if got.Kind != tt.kind || got.Signature != tt.signature {
				t.Errorf("%q: kind %q, signature %q; want %q, %q", tt.text, got.Kind, got.Signature, tt.kind, tt.signature)
			}
		})
	}
}

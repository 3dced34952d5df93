package kernel

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		yes, no []string
	}{
		{"", []string{"", "anything", "a\nb"}, nil},
		{"*", []string{"", "x", "a\nb"}, nil},
		{"fmt*", []string{"fmt", "fmt.Println(x)", "fmt\n"}, []string{"xfmt", "fm"}},
		{"*Print*", []string{"fmt.Println(x)", "Print"}, []string{"print"}},
		{"?", []string{"x", "é", "\n"}, []string{"", "xy"}},
		{"a?c", []string{"abc", "a\nc", "aéc"}, []string{"ac", "abbc"}},
		{"a*b*c", []string{"abc", "aXbYc", "abbbc", "acbc"}, []string{"acb", "ab"}},
		{"**a**", []string{"a", "xax"}, []string{"", "b"}},
		{"[abc]", []string{"a", "c"}, []string{"d", "", "ab"}},
		{"[a-c]x", []string{"bx"}, []string{"dx", "-x"}},
		{"[^a-c]", []string{"d", "é"}, []string{"a", ""}},
		{"[]]", []string{"]"}, []string{"["}},
		{"[^]]", []string{"x"}, []string{"]"}},
		{"[a-]", []string{"a", "-"}, []string{"b"}},
		{"[é-ê]", []string{"é", "ê"}, []string{"e", "ë"}},
		{"[z-a]", nil, []string{"a", "m", "z"}},
		{"x[", []string{"x["}, []string{"x", "xa"}},
		{"[ab", []string{"[ab"}, []string{"a"}},
		{"fmt.Println(x)", []string{"fmt.Println(x)"}, []string{"fmtxPrintln(x)"}},
		{"ß*ü", []string{"ßü", "ßxyzü"}, []string{"ß", "ssü"}},
		{"Abc", []string{"Abc"}, []string{"abc"}},
		{"\\*", []string{"\\", "\\x"}, []string{"*"}}, // no escape character, as in SQLite's GLOB
		{"?", []string{"\xff"}, []string{"\xff\xfe"}},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
		}
		for _, s := range tt.yes {
			if !g.match(s) {
				t.Errorf("%q does not match %q, want a match", tt.pattern, s)
			}
		}
		for _, s := range tt.no {
			if g.match(s) {
				t.Errorf("%q matches %q, want none", tt.pattern, s)
			}
		}
	}
}

func TestGlobLimit(t *testing.T) {
	if _, err := compileGlob(strings.Repeat("?", maxPatternBytes)); err != nil {
		t.Errorf("a pattern of the maximum size: %v", err)
	}
	for _, p := range []string{strings.Repeat("?", maxPatternBytes+1), strings.Repeat("?", 4_000_000)} {
		if _, err := compileGlob(p); kindOf(err) != kindTooLarge {
			t.Errorf("a pattern of %d bytes: %v, want a kindTooLarge error", len(p), err)
		}
	}
}

// TestGlobLinear matches patterns that make backtracking matchers take time
// exponential or quadratic in the input against a long input, within a
// bound that only a linear matcher meets.
func TestGlobLinear(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	patterns := []string{
		strings.Repeat("*a", 300) + "*b",
		"*" + strings.Repeat("a", 1000) + "b*",
		strings.Repeat("?", 1000) + "*b",
	}
	done := make(chan bool, len(patterns))
	go func() {
		for _, p := range patterns {
			g, err := compileGlob(p)
			if err != nil {
				t.Error(err)
				done <- false
				continue
			}
			done <- g.match(long)
		}
	}()
	timeout := time.After(20 * time.Second) // ~0.1 s each here; backtracking would take hours
	for range patterns {
		select {
		case matched := <-done:
			if matched {
				t.Error("a pattern ending in b matched a string of a's")
			}
		case <-timeout:
			t.Fatal("matching is not linear in the input")
		}
	}
}

func TestHistoryQueryBounds(t *testing.T) {
	var h history
	for i := 1; i <= maxHistoryReply+5; i++ {
		h.add(i, fmt.Sprintf("x%d", i), "")
	}
	n := func(i int) *int { return &i }
	tests := []struct {
		name      string
		req       historyRequest
		wantLen   int
		wantFirst int // line of the first entry
	}{
		{"tail without n is bounded", historyRequest{HistAccessType: "tail"}, maxHistoryReply, 6},
		{"tail with a huge n is bounded", historyRequest{HistAccessType: "tail", N: n(1 << 62)}, maxHistoryReply, 6},
		{"tail with a negative n is bounded", historyRequest{HistAccessType: "tail", N: n(-3)}, maxHistoryReply, 6},
		{"range is bounded", historyRequest{HistAccessType: "range", Start: -1 << 62}, maxHistoryReply, 6},
		{"search with n", historyRequest{HistAccessType: "search", Pattern: "x1*", N: n(2)}, 2, 10004},
		{"unique search", historyRequest{HistAccessType: "search", Pattern: "x1000?", Unique: true}, 6, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.query(tt.req)
			if err != nil || len(got) != tt.wantLen || got[0][1] != tt.wantFirst {
				first := any(nil)
				if len(got) > 0 {
					first = got[0][1]
				}
				t.Errorf("%d entries from line %v (%v); want %d from %d", len(got), first, err, tt.wantLen, tt.wantFirst)
			}
		})
	}
	if _, err := h.query(historyRequest{HistAccessType: "search", Pattern: strings.Repeat("?", 4_000_000)}); kindOf(err) != kindTooLarge {
		t.Errorf("search with four million ?: %v, want a kindTooLarge error", err)
	}
}

func TestHistoryUniqueKeepsLatest(t *testing.T) {
	var h history
	for i, in := range []string{"a", "b", "a", "c", "b"} {
		h.add(i+1, in, "")
	}
	got, err := h.query(historyRequest{HistAccessType: "search", Pattern: "*", Unique: true})
	want := [][]any{{historySession, 3, "a"}, {historySession, 4, "c"}, {historySession, 5, "b"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("unique = %v, %v; want %v", got, err, want)
	}
}

// globReference translates a pattern, parsed by parseGlob, into a regexp:
// the matcher FuzzGlob checks the automaton against.
func globReference(pattern string) *regexp.Regexp {
	if pattern == "" {
		pattern = "*"
	}
	elems, stars := parseGlob(pattern)
	starAt := map[int]bool{}
	for _, s := range stars {
		starAt[s] = true
	}
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for j := 0; j <= len(elems); j++ {
		if starAt[j] {
			b.WriteString(`.*`)
		}
		if j < len(elems) {
			b.WriteString(classRegexp(elems[j]))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

func classRegexp(c globClass) string {
	var b strings.Builder
	for _, r := range c.ranges {
		if r[0] <= r[1] { // a reversed range matches nothing, as in SQLite
			fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r[0], r[1])
		}
	}
	switch {
	case b.Len() == 0 && c.negate:
		return `.`
	case b.Len() == 0:
		return `[^\x{0}-\x{10ffff}]`
	case c.negate:
		return `[^` + b.String() + `]`
	default:
		return `[` + b.String() + `]`
	}
}

// FuzzGlob checks the bit-parallel matcher against a regexp translation of
// the same pattern.
func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{
		{"*a*b?", "xxaxxbc"}, {"[a-c]*[^x]", "bzzy"}, {"[]]", "]"}, {"x[", "x["},
		{"?é*", "aé\n"}, {"", ""}, {"**", "\xff"}, {strings.Repeat("?", 70), strings.Repeat("a", 70)},
		{strings.Repeat("*a", 40) + "b", strings.Repeat("a", 100) + "b"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 200 || len(s) > 1000 {
			return // the reference regexp grows with the pattern
		}
		g, err := compileGlob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		// regexp and the matcher both read an invalid byte as one U+FFFD.
		want := globReference(pattern).MatchString(s)
		if got := g.match(s); got != want {
			t.Errorf("match(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}

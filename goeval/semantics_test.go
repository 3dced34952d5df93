package goeval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// semanticsCases are sessions whose output must be what compiled Go prints
// (each was checked against the go tool), where yaegi v0.16 alone prints
// something else; err, when set, is text the last cell's error must
// contain instead.
var semanticsCases = []struct {
	name   string
	cells  []string
	stdout string
	err    string
}{
	// rewriteRecvOperands
	{"recv and", []string{`messages := make(chan bool)
go func() { messages <- true }()
fmt.Println(<-messages && true)`}, "true\n", ""},
	{"recv or, parenthesised, in a function", []string{`func f() {
	ch := make(chan bool)
	go func() { time.Sleep(5 * time.Millisecond); ch <- true; ch <- false; ch <- true }()
	a := (<-ch) && true
	b := <-ch || false
	c := <-ch || false
	fmt.Println(a, b, c)
}
f()`}, "true false true\n", ""},
	{"recv named bool", []string{`type B bool
cb := make(chan B, 2)
cb <- true
cb <- false
x := <-cb && true
y := <-cb || true
fmt.Println(x, y)`}, "true true\n", ""},

	// rewriteStringRanges
	{"string key and value", []string{`s := "a\xffb\xe2\x82c€d"
for i, r := range s {
	fmt.Print(i, ":", r, " ")
}
fmt.Println()`}, "0:97 1:65533 2:98 3:65533 4:65533 5:99 6:8364 9:100 \n", ""},
	{"string key only", []string{`for i := range "\xffé\xff" {
	fmt.Print(i, " ")
}
fmt.Println()`}, "0 1 3 \n", ""},
	{"string loops in functions", []string{`type MyS string
func f(x MyS) {
	var k int
outer:
	for k = range x {
		if k > 3 {
			continue outer
		}
		for j, q := range "\xff\xff" + string(x[:2]) {
			if j == 2 {
				break outer
			}
			fmt.Print("(", k, j, q, ")")
		}
	}
	fmt.Println(" end", k)
	var fs []func() int
	for i, c := range string(x) {
		fs = append(fs, func() int { return i*1000 + int(c) })
	}
	for _, g := range fs {
		fmt.Print(g(), " ")
	}
	fmt.Println()
	for i, c := range x[1:] {
		i := i + 100
		fmt.Print(i, c, " ")
	}
	fmt.Println()
}
f("a\xffé")`}, "(0 0 65533)(0 1 65533) end 0\n97 66533 2233 \n100 65533 101 233 \n", ""},
	{"string loops of several cells", []string{`const cs = "é\xffz"`, `i := 42
for i, r := range cs {
	fmt.Print(i, r, " ")
}
fmt.Println(i)`, `for i, r := range cs[1:] {
	fmt.Print(i, r, " ")
}
fmt.Println()`}, "0 233 2 65533 3 122 42\n0 65533 1 65533 2 122 \n", ""},
	{"string loop of a function compiled again", []string{`var sep = "."
func show(s string) {
	for i, r := range s {
		fmt.Print(i, r, sep)
	}
	fmt.Println()
}
show("\xffa")`, `var sep = "|"`, `show("\xffa")`}, "0 65533.1 97.\n0 65533|1 97|\n", ""},

	// rewriteTypeSwitches
	{"type switch cases", []string{`func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case int, int64:
		return fmt.Sprintf("integer %v", x)
	case string:
		return "string of length " + fmt.Sprint(len(x))
	case []int:
		return fmt.Sprintf("slice with %d ints", len(x))
	case *bytes.Buffer:
		return "buffer " + x.String()
	case error:
		return "error: " + x.Error()
	case fmt.Stringer:
		return "stringer " + x.String()
	default:
		return fmt.Sprintf("something else: %T", x)
	}
}
for _, v := range []any{nil, 1, int64(2), "abc", []int{1, 2}, bytes.NewBufferString("b"), fmt.Errorf("bad"), 3.5, time.Second, os.ErrNotExist, &os.PathError{Op: "op", Path: "p", Err: os.ErrExist}} {
	fmt.Println(describe(v))
}`}, "nil\ninteger 1\ninteger 2\nstring of length 3\nslice with 2 ints\nbuffer b\nerror: bad\nsomething else: float64\nstringer 1s\nerror: file does not exist\nerror: op p: file already exists\n", ""},
	{"type switch without binding, break, label, init", []string{`func kind(v any) string {
	switch v.(type) {
	case fmt.Stringer, error:
		return "iface"
	case nil:
		return "nil"
	}
	return "other"
}
fmt.Println(kind(time.Second), kind(errors.New("e")), kind(nil), kind(3))
calls := 0
get := func(i int) any { calls++; return fmt.Errorf("x%d", i) }
L:
for i := 0; i < 3; i++ {
	switch n := i * 2; err := get(n).(type) {
	case error:
		if i == 1 {
			break L
		}
		fmt.Println("err", err, n)
		if i == 0 {
			break
		}
		fmt.Println("not reached")
	}
	fmt.Println("after", i)
}
fmt.Println("calls", calls)`}, "iface iface nil other\nerr x0 0\nafter 0\ncalls 2\n", ""},
	{"type switch on nil with case any", []string{`var v any
switch x := v.(type) {
case any:
	fmt.Println("any", x)
default:
	fmt.Println("default", x)
}
switch v = io.EOF; v.(type) {
case any:
	fmt.Println("any")
}`}, "default <nil>\nany\n", ""},

	// rewriteNilConvs
	// A nil pointer converted to error is boxed (typed_errors.go), so it
	// stays a non-nil error as in Go, and is not refused.
	{"nil pointer to error kept", []string{`type myErr struct{}
func (*myErr) Error() string { return "my error" }
var _ error = (*myErr)(nil)
func mayFail(fail bool) error {
	var p *myErr
	if fail {
		p = &myErr{}
	}
	return p
}
fmt.Println(mayFail(true) != nil, mayFail(true))`, `err := mayFail(false)
fmt.Println(err == nil)`}, "true my error\nfalse\n", ""},
	{"nil pointer to Stringer refused", []string{`type T struct{}
func (*T) String() string { return "T" }
func show(s fmt.Stringer) string { return s.String() }
var t *T
fmt.Println(show(&T{}))
fmt.Println(show(t))`}, "T\n", "mpigo cannot convert a nil *main.T to fmt.Stringer"},
}

func TestSemantics(t *testing.T) {
	for _, tc := range semanticsCases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestSession(t)
			var out strings.Builder
			var err error
			for i, cell := range tc.cells {
				_, err = ts.Eval(context.Background(), i+1, cell)
				stdout, _ := ts.output(t)
				out.WriteString(stdout)
				if err != nil && i < len(tc.cells)-1 {
					t.Fatalf("cell[%d]: %v", i+1, err)
				}
			}
			if out.String() != tc.stdout {
				t.Errorf("stdout:\n%s\nwant\n%s", out.String(), tc.stdout)
			}
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("error: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error: %v, want one with %q", err, tc.err)
			}
		})
	}
}

// TestSemanticsScan checks which code the scan sends to the type check for
// the rewrites of semantics_*.go.
func TestSemanticsScan(t *testing.T) {
	ts := newTestSession(t)
	evalAll(t, ts, 1, "type bag struct{ items []string }\nfunc (b *bag) Error() string { return \"\" }\ns := \"é\"\nxs := []int{1}\nvar a any = 1")
	cases := []struct {
		src  string
		need bool
	}{
		{"for i, r := range s { _, _ = i, r }", true},
		{"for i, r := range \"é\" { _, _ = i, r }", true},
		{"for _, r := range s { _ = r }", false},
		{"for i, x := range xs { _, _ = i, x }", false},
		{"func f(ys []string) { for i, y := range ys { _, _ = i, y } }", false},
		{"func f(t string) { for i, r := range t[1:] { _, _ = i, r } }", true},
		{"func f(m map[string]int) { for k, v := range m { _, _ = k, v } }", false},
		{"switch a.(type) { case int: }", false},
		{"switch a.(type) { case error: }", true},
		{"switch x := a.(type) { case fmt.Stringer: _ = x }", true},
		// bag implements error: cells that name it are checked for the
		// boxing of its values converted to error (typed_errors.go).
		{"b := &bag{}\n_ = b", true},
		{"b := &bag{}\nfmt.Println(b)", true}, // a print call in a session with types: see typed_fmt.go
		{"func g() error { var b *bag; return b }", true},
		{"func g() int { var b *bag; _ = b; return 1 }", true},
	}
	for i, c := range cases {
		if got := scanNeeds(t, ts, 10+i, c.src); got != c.need {
			t.Errorf("%q: needs the type check = %v, want %v", c.src, got, c.need)
		}
	}
}

func TestNextRune(t *testing.T) {
	for _, s := range []string{"", "abc", "a\xffb", "é€\U0001F600", "\xe2\x82", "\xf0\x9f\x98"} {
		var want []int
		for i := range s {
			want = append(want, i)
		}
		var got []int
		for i := 0; i < len(s); i = nextRune(s, i) {
			got = append(got, i)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: offsets %v, want %v", s, got, want)
		}
	}
	if n := nextRune("é", 0); n != utf8.RuneLen('é') {
		t.Errorf("nextRune(é, 0) = %d", n)
	}
}

func TestTypeCase(t *testing.T) {
	end, null, anyc := any(caseEndMark), any(caseNilMark), any(caseAnyMark)
	errT, strT := (*error)(nil), (*fmt.Stringer)(nil)
	cases := []struct {
		v     any
		cases []any
		want  int
	}{
		{nil, []any{errT, end, null, end}, 1},
		{nil, []any{errT, end, anyc, end}, -1},
		{errors.New("x"), []any{null, end, strT, end, errT, end}, 2},
		{time.Second, []any{errT, end, strT, end}, 1},
		{time.Second, []any{(*time.Duration)(nil), end, strT, end}, 0},
		{os.ErrNotExist, []any{(*io.Reader)(nil), end}, -1},
		{&os.PathError{}, []any{(**os.PathError)(nil), end, errT, end}, 0},
		{3, []any{errT, end}, -2},        // predeclared: maybe an interpreted type
		{[]int{1}, []any{errT, end}, -2}, // unnamed: maybe an interpreted type
		{3, []any{null, end, anyc, end}, 1},
		{3, []any{errT, end, anyc, end}, -2},
	}
	for _, c := range cases {
		if got := typeCase(c.v, c.cases...); got != c.want {
			t.Errorf("typeCase(%T, %v) = %d, want %d", c.v, c.cases, got, c.want)
		}
	}
}

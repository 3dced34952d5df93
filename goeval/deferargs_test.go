package goeval

import (
	"context"
	"go/parser"
	"go/token"
	"strings"
	"testing"
	"time"
)

// testKind is the kinds of names of the rewrite tests: fmt is an import,
// the built-ins are built-ins, other names unknown.
func testKind(name string) string {
	switch {
	case name == "fmt":
		return "import"
	case name == "nil":
		return "const"
	case universe[name]:
		return "builtin"
	}
	return ""
}

// deferRewritten parses src as a file, applies rewriteDefers and returns
// the printed file before and after, on one line each.
func deferRewritten(t *testing.T, src string) (before, after string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", "package p\n"+src+"\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	before = printOneLine(t, fset, f)
	rewriteDefers(f, testKind)
	return before, printOneLine(t, fset, f)
}

func TestRewriteDefers(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // fragments of the result; none: unchanged
	}{
		{"constants only", `func f() { defer fmt.Println("x", 1, nil) }`, nil},
		{"no arguments", `func g() {}; func f() { defer g() }`, nil},
		{"literal without arguments", `func f() { defer func() { recover() }() }`, nil},
		{"recover", `func f() { defer recover() }`, nil},
		{"method, no arguments", `func f() { defer mu.Unlock() }`, nil},
		{"arguments", `func f(x int) { defer fmt.Println("x =", x) }`, []string{
			`{ __mpigo_dv0 := x; defer fmt.Println("x =", __mpigo_dv0) }`}},
		{"declared function", `func g(a, b int) {}; func f(x int) { defer g(x, x+1) }`, []string{
			`{ __mpigo_dv0 := x; __mpigo_dv1 := x + 1; defer g(__mpigo_dv0, __mpigo_dv1) }`}},
		{"function value", `func f(h func(int), x int) { defer h(x) }`, []string{
			`{ __mpigo_dv0 := h; __mpigo_dv1 := x; defer __mpigo_dv0(__mpigo_dv1) }`}},
		{"indexed function value", `func f(hs []func(), i int) { defer hs[i]() }`, []string{
			`{ __mpigo_dv0 := hs[i]; defer __mpigo_dv0() }`}},
		{"generic function", `func g[T any](T) {}; func f(x int) { defer g[int](x) }`, []string{
			`{ __mpigo_dv0 := x; defer g[int](__mpigo_dv0) }`}},
		{"variadic, compiled", `func f(xs []any) { defer fmt.Println(xs...) }`, []string{
			`{ __mpigo_dv0 := xs; __mpigo_df := func() func() { return func() { fmt.Println(__mpigo_dv0...) } }(); defer __mpigo_df() }`}},
		{"variadic", `func g(...int) {}; func f(xs []int) { defer g(1, xs...) }`, []string{
			`{ __mpigo_dv0 := xs; __mpigo_df := func() func() { return func() { g(1, __mpigo_dv0...) } }(); defer __mpigo_df() }`}},
		{"builtins", `func f(ch chan int, m map[string]int, k string) { defer close(ch); defer delete(m, k); defer panic(k) }`, []string{
			`{ __mpigo_dv0 := ch; defer close(__mpigo_dv0) }`,
			`{ __mpigo_dv0 := m; __mpigo_dv1 := k; defer delete(__mpigo_dv0, __mpigo_dv1) }`,
			`{ __mpigo_dv0 := k; defer panic(__mpigo_dv0) }`}},
		{"literal with arguments", `func f(x int) { defer func(v int) { recover(); fmt.Println(v) }(x) }`, []string{
			`{ __mpigo_dv0 := x; defer func(v int) { recover()`, `fmt.Println(v) }(__mpigo_dv0) }`}},
		{"method arguments", `func f(l *logger, s string) { defer l.add(s) }`, []string{
			`{ __mpigo_dv0 := s; defer l.add(__mpigo_dv0) }`}},
		{"receiver call", `func f() { defer conn().Close() }`, []string{
			`{ __mpigo_dv0 := conn(); defer __mpigo_dv0.Close() }`}},
		{"receiver index", `func f(rs []*R, i int) { defer rs[i].Close() }`, []string{
			`{ __mpigo_dv0 := i; defer rs[__mpigo_dv0].Close() }`}},
		{"receiver constant index", `func f(rs []*R) { defer rs[0].Close() }`, nil},
		{"receiver field", `func f(s *S) { defer s.mu.Unlock() }`, nil},
		{"method expression", `func f(t T) { defer T.Show(t) }`, []string{
			`{ __mpigo_dv0 := t; defer T.Show(__mpigo_dv0) }`}},
		{"package function", `func f(x int) { defer fmt.Print(x) }`, []string{`defer fmt.Print(__mpigo_dv0)`}},
		{"in a method", `func (s *S) f(x int) { defer s.g(x) }`, []string{`{ __mpigo_dv0 := x; defer s.g(__mpigo_dv0) }`}},
		{"in a function literal", `var f = func(x int) { defer fmt.Print(x) }`, []string{`{ __mpigo_dv0 := x; defer fmt.Print(__mpigo_dv0) }`}},
		{"loop, literal of the iteration", `func f() { for i := range 3 { defer func() { fmt.Print(i) }() } }`, []string{
			`{ __mpigo_df := func() func() { return func() { fmt.Print(i) } }(); defer __mpigo_df() }`}},
		{"loop, literal with arguments", `func f() { for i := range 3 { defer func(k int) { fmt.Print(i, k) }(i * 2) } }`, []string{
			`{ __mpigo_dv0 := i * 2; __mpigo_df := func() func(int) { return func(k int) { fmt.Print(i, k) } }(); defer __mpigo_df(__mpigo_dv0) }`}},
		{"loop, literal with recover", `func f() { for i := range 3 { defer func() { recover(); fmt.Print(i) }() } }`, nil},
		{"loop, literal of other variables", `func f(x int) { for range 3 { defer func() { fmt.Print(x) }() } }`, nil},
		{"loop, method of the iteration", `func f(ns []string) { for _, n := range ns { r := open(n); defer r.Close() } }`, []string{
			`{ __mpigo_df := func() func() { return func() { r.Close() } }(); defer __mpigo_df() }`}},
		{"loop, method of another variable", `func f(mu *sync.Mutex) { for range 3 { mu.Lock(); defer mu.Unlock() } }`, nil},
		{"loop, receiver call", `func f() { for range 3 { defer conn().Close() } }`, []string{
			`{ __mpigo_dv0 := conn(); __mpigo_df := func() func() { return func() { __mpigo_dv0.Close() } }(); defer __mpigo_df() }`}},
		{"goto, method", "func f() {\nL:\n\tr := open()\n\tdefer r.Close()\n\tif r.n < 3 {\n\t\tgoto L\n\t}\n}", []string{
			`__mpigo_df := func() func() { return func() { r.Close() } }()`}},
		{"closure made apart", `func f() { cleanup := func() { fmt.Println("c") }; defer cleanup() }`, []string{
			`cleanup := func() func() { return func() { fmt.Println("c") } }()`,
			`{ __mpigo_dv0 := cleanup; defer __mpigo_dv0() }`}},
		{"typed closure made apart", `func f() { var g func(int) string; g = func(n int) string { return g(n - 1) }; defer fmt.Print("x") }`, []string{
			`g = func() func(int) string { return func(n int) string { return g(n - 1) } }()`}},
		{"literal called, deferred or started", `func f() { func() {}(); go func() {}(); defer func() {}() }`, nil},
		{"no defer, no closure made apart", `func f() { g := func() {}; g() }`, nil},
		{"nested function's defer", `func f() { g := func() { defer fmt.Print(1) }; g() }`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, after := deferRewritten(t, tt.src)
			if tt.want == nil {
				if after != before {
					t.Errorf("changed:\n%s\nbecame\n%s", before, after)
				}
				return
			}
			for _, w := range tt.want {
				// The statements of a rewrite, all at one position, print
				// without semicolons.
				if w = strings.ReplaceAll(w, "; ", " "); !strings.Contains(after, w) {
					t.Errorf("result\n%s\nlacks\n%s", after, w)
				}
			}
		})
	}
}

func TestRewriteGoReceivers(t *testing.T) {
	tests := []struct {
		src  string
		want string // fragment of the result
	}{
		{"go w.run(x)", "__mpigo_a0 := x go func() {"},
		{"go w.run(x)", "w.run(__mpigo_a0) }() }"},
		{"go conn().serve()", "__mpigo_a0 := conn() go func() {"},
		{"go ws[i].run()", "__mpigo_a0 := i go func() {"},
		{"go ws[i].run()", "ws[__mpigo_a0].run() }()"},
		{"go fmt.Println(x)", "fmt.Println(__mpigo_a0) }()"},
		{"go h(x)", "__mpigo_a0, __mpigo_a1 := h, x"},
	}
	for _, tt := range tests {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", "package p\nfunc f(w *W, ws []*W, i, x int, h func(int)) {\n"+tt.src+"\n}\n", 0)
		if err != nil {
			t.Fatal(err)
		}
		rewriteGo(fset, f, testKind)
		if got := printOneLine(t, fset, f); !strings.Contains(got, tt.want) {
			t.Errorf("%s: result\n%s\nlacks\n%s", tt.src, got, tt.want)
		}
	}
}

// TestDeferSemantics runs programs with defer statements (and go
// statements and assignments of several values, which share the problem
// of values evaluated at the wrong time) in a session; the outputs are
// those of the compiled programs.
func TestDeferSemantics(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"arguments evaluated at once", `
func() {
	y := 1
	defer fmt.Println("y =", y)
	y = 2
	defer func() { fmt.Println("closure y =", y) }()
	y = 3
}()`, "closure y = 3\ny = 1\n"},
		{"loop arguments", `
func run() {
	for i := 0; i < 3; i++ {
		defer fmt.Print(i*10, " ")
	}
}
run()
fmt.Println()`, "20 10 0 \n"},
		{"loop closures", `
func run() {
	for i := range 3 {
		defer func() { fmt.Print(i, " ") }()
	}
	for _, s := range []string{"a", "b"} {
		defer func(p string) { fmt.Print(p, s, " ") }("<")
	}
}
run()
fmt.Println()`, "<b <a 2 1 0 \n"},
		{"loop methods", `
type res struct{ name string }
func (r *res) Close() { fmt.Print("close ", r.name, "; ") }
func open(n string) *res { return &res{n} }
func run() {
	for _, n := range []string{"a", "b"} {
		r := open(n)
		defer r.Close()
	}
	for _, n := range []string{"c", "d"} {
		defer open(n).Close()
	}
}
run()
fmt.Println()`, "close d; close c; close b; close a; \n"},
		{"pointer receiver not copied", `
type counter struct{ n int }
func (c *counter) inc() { c.n++ }
func run() (c counter) {
	defer c.inc()
	c.inc()
	return c
}
fmt.Println(run().n)`, "2\n"},
		{"mutex", `
import "sync"
var mu sync.Mutex
func locked(v int) int {
	mu.Lock()
	defer mu.Unlock()
	return v
}
fmt.Println(locked(1), locked(2))`, "1 2\n"},
		{"function value evaluated at once", `
func run() {
	f := func(s string) { fmt.Println("first", s) }
	defer f("x")
	f = func(s string) { fmt.Println("second", s) }
	f("y")
}
run()`, "second y\nfirst x\n"},
		{"deferred closure of the function", `
func run() {
	cleanup := func() { fmt.Println("cleanup") }
	defer cleanup()
	defer func() { cleanup() }()
	fmt.Println("body")
}
run()`, "body\ncleanup\ncleanup\n"},
		{"recover with arguments", `
func run() (msg string) {
	defer func(tag string) {
		msg = fmt.Sprint(tag, recover())
	}("recovered: ")
	panic("boom")
}
fmt.Println(run())`, "recovered: boom\n"},
		{"named results after a recovered panic", `
func parse(s string) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = -1, fmt.Errorf("parse %q: %v", s, r)
		}
	}()
	if s == "" {
		panic("empty input")
	}
	return len(s), nil
}
fmt.Println(parse("abc"))
fmt.Println(parse(""))`, "3 <nil>\n-1 parse \"\": empty input\n"},
		{"builtins", `
func run() {
	ch := make(chan int, 1)
	m := map[string]int{"a": 1, "b": 2}
	k := "a"
	func() {
		defer close(ch)
		defer delete(m, k)
		k = "b"
		ch <- 1
	}()
	_, open1 := <-ch
	_, open2 := <-ch
	fmt.Println(len(m), m["b"], open1, open2)
	defer func() { fmt.Println("recovered", recover()) }()
	v := "first"
	defer panic(v)
	v = "second"
}
run()`, "1 2 true false\nrecovered first\n"},
		{"variadic and generic", `
func show[T any](xs ...T) { fmt.Println(xs) }
func run() {
	xs := []int{1, 2}
	defer show[int](xs...)
	defer fmt.Println(len(xs))
	xs = append(xs, 3)
}
run()`, "2\n[1 2]\n"},
		{"top level", `
z := 1
defer fmt.Println("top z =", z)
z = 2
func() {
	defer fmt.Println("inner z =", z)
	z = 3
}()`, "inner z = 2\ntop z = 1\n"},
		{"go statement arguments", `
import "sync"
var wg sync.WaitGroup
func run() {
	g := 1
	wg.Add(1)
	go func(v int) { defer wg.Done(); fmt.Println("goroutine", v) }(g)
	g = 2
	wg.Wait()
}
run()`, "goroutine 1\n"},
		{"go statement receivers", `
import (
	"sort"
	"sync"
)
type worker struct{ name string }
var mu sync.Mutex
var done []string
func (w *worker) run(wg *sync.WaitGroup) {
	defer wg.Done()
	mu.Lock()
	done = append(done, w.name)
	mu.Unlock()
}
func run() {
	var wg sync.WaitGroup
	for _, n := range []string{"a", "b", "c"} {
		w := &worker{n}
		wg.Add(1)
		go w.run(&wg)
	}
	wg.Wait()
	sort.Strings(done)
	fmt.Println(done)
}
run()`, "[a b c]\n"},
		{"compiled method of a pointer", `
import (
	"io"
	"strings"
)
sb := &strings.Builder{}
defer func() { fmt.Println(sb.String()) }()
defer sb.WriteString("top")
pr, pw := io.Pipe()
go pw.Write([]byte("go "))
buf := make([]byte, 3)
io.ReadFull(pr, buf)
sb.Write(buf)`, "go top\n"},
		{"top-level loop", `
type res struct{ name string }
func (r *res) Close() { fmt.Print("close ", r.name, "; ") }
for _, n := range []string{"a", "b"} {
	r := &res{n}
	defer r.Close()
}
for _, n := range []string{"c", "d"} {
	defer (&res{n}).Close()
}`, "close d; close c; close b; close a; "},
		{"several values", `
func f() int { return -2 }
func run() {
	var a, b int
	x := 5
	a, b = x, f()
	fmt.Println(a, b)
	s := []int{}
	s, a = append(s, 1), 4
	fmt.Println(s, a)
	type T struct{ x int }
	t, c := T{4}, 6
	fmt.Println(t, c)
	i, j := 0, 0
	for i, j = 0, len(s); i < j; i, j = i+1, f() {
		fmt.Println(i, j)
	}
}
run()`, "5 -2\n[1] 4\n{4} 6\n0 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestSession(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := ts.Eval(ctx, 1, tt.src); err != nil {
				t.Fatal(err)
			}
			if got, _ := ts.output(t); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

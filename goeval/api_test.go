package goeval

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio"
)

// eval runs a cell and fails the test on error.
func (ts *testSession) eval(t *testing.T, n int, src string) Value {
	t.Helper()
	v, err := ts.Eval(context.Background(), n, src)
	if err != nil {
		t.Fatalf("cell[%d] %q: %v", n, src, err)
	}
	return v
}

func TestIsComplete(t *testing.T) {
	tests := []struct {
		code, status, indent string
	}{
		{"", "complete", ""},
		{"   \n", "complete", ""},
		{"x := 1", "complete", ""},
		{"fmt.Println(1)", "complete", ""},
		{"func f() {", "incomplete", "    "},
		{"func f() {\n    if x {", "incomplete", "        "},
		{"func f() {\n    x := 1", "incomplete", "    "},
		{"fmt.Println(1,", "incomplete", ""},
		{"x := 1 +", "incomplete", "    "},
		{"x :=", "incomplete", "    "},
		{"x.", "incomplete", "    "},
		{"s := `raw\nstring", "incomplete", ""},
		{"/* comment", "incomplete", ""},
		{"for i := range 3 {\n}", "complete", ""},
		{"}", "invalid", ""},
		{"x := (1]", "invalid", ""},
		{"func func", "invalid", ""},
		{`"unterminated`, "invalid", ""},
		{"%mpirun -n 4", "complete", ""},
		{"%time\nx := 1", "complete", ""},
		{"!ls -l\nfor {", "incomplete", "    "},
		{"return", "complete", ""},
		{"go", "incomplete", "    "},
		{"if x {\n} else", "incomplete", "    "},
	}
	for _, tt := range tests {
		status, indent := IsComplete(tt.code)
		if status != tt.status || indent != tt.indent {
			t.Errorf("IsComplete(%q) = %q, %q; want %q, %q", tt.code, status, indent, tt.status, tt.indent)
		}
	}
}

func TestMissingImports(t *testing.T) {
	tests := []struct {
		src   string
		known []string
		extra []Package
		want  []string
	}{
		{"fmt.Println(strings.ToUpper(\"a\"))", nil, nil, []string{"fmt", "strings"}},
		{"rand.Intn(3)", nil, nil, []string{"math/rand"}},
		{"rand.IntN(3)", nil, nil, []string{"math/rand/v2"}},                    // only v2 has IntN
		{"b := make([]byte, 4); rand.Read(b)", nil, nil, []string{"math/rand"}}, // both have Read: no /v2, shortest
		{"rand.Int(rand.Reader, max)", nil, nil, []string{"crypto/rand"}},
		{"import \"fmt\"\nfmt.Println(1)", nil, nil, nil},
		{"strings := []string{}\nstrings.Len()", nil, nil, nil},
		{"func f(strings int) { strings.X() }", nil, nil, nil},
		{"x.Foo()", nil, nil, nil},
		{"data.Len()", []string{"data"}, nil, nil},
		{"display.HTML(\"<b>\")", nil, nil, []string{"github.com/mpigo/mpigo/display"}},
		{"mpi.World.Rank()", nil, []Package{{Path: "github.com/mpigo/mpigo/mpi", Name: "mpi", Exports: []string{"World", "Init"}}}, []string{"github.com/mpigo/mpigo/mpi"}},
		{"package main\n\nfunc main() { fmt.Println(os.Args) }", nil, nil, []string{"fmt", "os"}},
		{"type T struct{}\nfunc (t T) String() string { return fmt.Sprint(1) }", nil, nil, []string{"fmt"}},
		{"slices.Contains([]int{1}, 1)", nil, nil, []string{"slices"}},
		{"func (", nil, nil, nil},
	}
	for _, tt := range tests {
		known := func(name string) bool {
			for _, k := range tt.known {
				if k == name {
					return true
				}
			}
			return false
		}
		got := MissingImports(tt.src, known, tt.extra...)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("MissingImports(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestComplete(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "type Point struct{ X, Y int; label string }\nfunc (p Point) Norm() int { return p.X*p.X + p.Y*p.Y }\npt := Point{X: 1}\nvar counter int\nimport str \"strings\"")
	tests := []struct {
		code         string
		cursor       int // -1: end
		want         []string
		start, end   int
		wantContains bool
	}{
		{"strings.ToUp", -1, []string{"ToUpper", "ToUpperSpecial"}, 8, 12, false},
		{"str.HasPre", -1, []string{"HasPrefix"}, 4, 10, false},
		{"x := strings.ToUp + 1", 17, []string{"ToUpper", "ToUpperSpecial"}, 13, 17, false},
		{"é := 1; strings.ToUp", -1, []string{"ToUpper", "ToUpperSpecial"}, 16, 20, false}, // runes, not bytes
		{"coun", -1, []string{"counter"}, 0, 4, false},
		{"pt.", -1, []string{"Norm", "X", "Y", "label"}, 3, 3, true},
		{"Poi", -1, []string{"Point"}, 0, 3, false},
		{"fmt.Sprin", -1, []string{"Sprint", "Sprintf", "Sprintln"}, 4, 9, false},
		{"for", -1, []string{"for", "format"}, 0, 3, false},
		{"appe", -1, []string{"append"}, 0, 4, false},
		{"strc", -1, []string{"strconv"}, 0, 4, false},
		{"displ", -1, []string{"display"}, 0, 5, false},
		{"display.HT", -1, []string{"HTML"}, 8, 10, false},
		{"myVariable := 1; myV", -1, []string{"myVariable"}, 17, 20, false},
		{`s := "strings.ToUp`, -1, nil, 18, 18, false},
		{"f().", -1, nil, 4, 4, false},
	}
	for _, tt := range tests {
		cursor := tt.cursor
		if cursor < 0 {
			cursor = len([]rune(tt.code))
		}
		got, start, end := ts.Complete(tt.code, cursor)
		ok := reflect.DeepEqual(got, tt.want)
		if tt.wantContains {
			ok = true
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				ok = ok && found
			}
		}
		if !ok || start != tt.start || end != tt.end {
			t.Errorf("Complete(%q, %d) = %q, %d, %d; want %q, %d, %d", tt.code, cursor, got, start, end, tt.want, tt.start, tt.end)
		}
	}
}

func TestInspect(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "// Double doubles.\nfunc Double(x int) int { return 2 * x }\ntype Celsius float64\nx := 3\nvar name = \"go\"")
	tests := []struct {
		code   string
		cursor int
		want   []string // substrings
	}{
		{"strings.ToUpper", 10, []string{"func ToUpper(s string) string", "ToUpper returns s with all Unicode letters mapped to their upper case."}},
		{"strings.ToUpper(", 16, []string{"func ToUpper(s string) string"}},
		{"time.Duration", 13, []string{"type Duration int64", "A Duration represents"}},
		{"time.Second", 8, []string{"Second"}},
		{"x := time.Now().Unix()", 12, []string{"func Now() Time"}},
		{"strings.Builder.WriteString", 20, []string{"func (b *Builder) WriteString(s string) (int, error)"}},
		{"Double(2)", 2, []string{"// Double doubles.\nfunc Double(x int) int { return 2 * x }"}},
		{"Celsius", 7, []string{"type Celsius float64"}},
		{"x + 1", 1, []string{"x int = 3"}},
		{"name", 2, []string{`name string = "go"`, `var name = "go"`}},
		{"len(s)", 2, []string{"func len(v Type) int"}},
		{"strings", 3, []string{"package strings", "Package strings implements"}},
		{"nothing", 3, nil},
		{"   ", 1, nil},
	}
	for _, tt := range tests {
		text, found := ts.Inspect(tt.code, tt.cursor, 0)
		if found != (tt.want != nil) {
			t.Errorf("Inspect(%q, %d): found = %v, text %q", tt.code, tt.cursor, found, text)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("Inspect(%q, %d) = %q, lacks %q", tt.code, tt.cursor, text, w)
			}
		}
	}
}

func TestDecls(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "import \"fmt\"\n\n// T is a type.\ntype T struct{ A int }\n\nfunc (t T) M() int { return t.A }\nx := 1\nconst (\n\tA = iota\n\tB\n)\nvar (\n\tv1 = 1\n\tv2 = 2\n)\nfunc f() {}")
	ts.eval(t, 2, "func f() { fmt.Println(strings.ToUpper(\"x\")) }\nvar v1 = 10\nfunc main() {}")
	got := ts.Decls()
	want := []Decl{
		{Kind: "import", Name: "fmt", Src: `import "fmt"`, Cell: 1, Line: 1},
		{Kind: "type", Name: "T", Src: "// T is a type.\ntype T struct{ A int }", Cell: 1, Line: 3},
		{Kind: "func", Name: "T.M", Src: "func (t T) M() int { return t.A }", Cell: 1, Line: 6},
		{Kind: "const", Name: "A", Names: []string{"A", "B"}, Src: "const (\n\tA = iota\n\tB\n)", Cell: 1, Line: 8},
		{Kind: "var", Name: "v1", Src: "var v1 = 10", Cell: 2, Line: 2},
		{Kind: "var", Name: "v2", Src: "var v2 = 2", Cell: 1, Line: 14},
		{Kind: "func", Name: "f", Src: `func f() { fmt.Println(strings.ToUpper("x")) }`, Cell: 2, Line: 1},
		{Kind: "import", Name: "strings", Src: `import "strings"`, Cell: 2, Line: 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decls() =\n%#v\nwant\n%#v", got, want)
	}
}

func TestStateSurvivesFailures(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "x := 42\nfunc loop() { for {} }")
	failures := []struct {
		name cellio.Kind
		src  string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{cellio.SyntaxError, "x :=:= 1", nil},
		{cellio.CompileError, "undefinedthing", nil},
		{cellio.Panic, "panic(\"boom\")", nil},
		{cellio.Exit, "os.Exit(2)", nil},
		{cellio.Interrupted, "loop()", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
		{cellio.Interrupted, "for {}", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
		{cellio.Interrupted, "ch := make(chan int)\n<-ch", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
		{cellio.Interrupted, "time.Sleep(time.Hour)", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
	}
	for i, f := range failures {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if f.name == cellio.Interrupted && raceEnabled {
			continue
		}
		if f.ctx != nil {
			ctx, cancel = f.ctx()
		}
		start := time.Now()
		_, err := ts.Eval(ctx, i+2, f.src)
		cancel()
		var e *Error
		if !errors.As(err, &e) || e.Name != f.name {
			t.Errorf("%s: got %v", f.src, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s took %v", f.src, d)
		}
		if v := ts.eval(t, 100+i, "x"); v.Text != "42" {
			t.Errorf("after %s: x = %q", f.name, v.Text)
		}
	}
	if _, err := ts.Eval(context.Background(), 200, "os.Exit(3)"); err == nil || err.Error() != "Exit: exit status 3" {
		t.Errorf("os.Exit(3): %v", err)
	}
}

func TestInterruptSleepingCell(t *testing.T) {
	if raceEnabled {
		t.Skip("yaegi's ExecuteWithContext races after an interrupt")
	}
	ts := newTestSession(t)
	ts.eval(t, 1, "n := 0")
	// A loop of short sleeps stops at the next iteration.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	start := time.Now()
	_, err := ts.Eval(ctx, 2, "for {\n\tn++\n\ttime.Sleep(10 * time.Millisecond)\n}")
	cancel()
	if e, ok := err.(*Error); !ok || e.Name != cellio.Interrupted || time.Since(start) > time.Second {
		t.Errorf("got %v after %v", err, time.Since(start))
	}
	if _, stderr := ts.output(t); stderr != "" {
		t.Errorf("stderr: %q", stderr)
	}
	// A long sleep cannot be interrupted: Eval returns anyway, and says so.
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	start = time.Now()
	_, err = ts.Eval(ctx, 3, "time.Sleep(2 * time.Second)")
	cancel()
	if e, ok := err.(*Error); !ok || e.Name != cellio.Interrupted || time.Since(start) > time.Second {
		t.Errorf("got %v after %v", err, time.Since(start))
	}
	if _, stderr := ts.output(t); !strings.Contains(stderr, "still in a call that cannot be interrupted") {
		t.Errorf("stderr: %q", stderr)
	}
	if v := ts.eval(t, 4, "n > 0"); v.Text != "true" {
		t.Errorf("n > 0 = %s", v.Text)
	}
}

func TestStdin(t *testing.T) {
	in, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	in.WriteString("42 hello\n")
	in.Seek(0, 0)
	s, err := New(Options{Stdin: in})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.Eval(context.Background(), 1, "var n int\nvar w string\nfmt.Scan(&n, &w)\nfmt.Sprintf(\"%d %s\", n, w)")
	if err != nil || v.Text != `"42 hello"` {
		t.Errorf("got %v, %v", v, err)
	}
}

func TestEnvAndChdir(t *testing.T) {
	ts := newTestSession(t)
	if v := ts.eval(t, 1, `os.Getenv("MPIGO_TEST")`); v.Text != `"1"` {
		t.Errorf("initial env: %q", v.Text)
	}
	t.Cleanup(func() { os.Unsetenv("MPIGO_GOEVAL_X") })
	if err := ts.Setenv("MPIGO_GOEVAL_X", "hello", false); err != nil {
		t.Fatal(err)
	}
	if v := ts.eval(t, 2, `os.Getenv("MPIGO_GOEVAL_X")`); v.Text != `"hello"` {
		t.Errorf("cell sees %s", v.Text)
	}
	if os.Getenv("MPIGO_GOEVAL_X") != "hello" {
		t.Errorf("process does not see it")
	}
	ts.eval(t, 3, `os.Setenv("MPIGO_CELL_VAR", "set in cell")`)
	if err := ts.Reset(); err != nil {
		t.Fatal(err)
	}
	if v := ts.eval(t, 4, `os.Getenv("MPIGO_CELL_VAR") + os.Getenv("MPIGO_GOEVAL_X")`); v.Text != `"set in cellhello"` {
		t.Errorf("after Reset: %s", v.Text)
	}
	if err := ts.Setenv("MPIGO_GOEVAL_X", "", true); err != nil {
		t.Fatal(err)
	}
	if v := ts.eval(t, 5, `_, ok := os.LookupEnv("MPIGO_GOEVAL_X")`+"\nok"); v.Text != "false" {
		t.Errorf("after unset: %s", v.Text)
	}
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	dir := t.TempDir()
	if err := ts.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	if v := ts.eval(t, 6, `d, _ := os.Getwd()`+"\nd"); !strings.Contains(v.Text, lastElem(dir)) {
		t.Errorf("Getwd = %s, want %s", v.Text, dir)
	}
	if err := ts.Chdir(dir + "/nonexistent"); err == nil {
		t.Errorf("Chdir to a missing dir succeeded")
	}
}

// lastElem returns the last element of a path (temp dirs may be symlinked).
func lastElem(p string) string { return p[strings.LastIndex(p, "/")+1:] }

func TestReset(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "x := 1\nfunc f() int { return 2 }")
	if err := ts.Reset(); err != nil {
		t.Fatal(err)
	}
	if len(ts.Decls()) != 0 {
		t.Errorf("Decls after Reset: %v", ts.Decls())
	}
	for _, src := range []string{"x", "f()"} {
		if _, err := ts.Eval(context.Background(), 2, src); err == nil {
			t.Errorf("%s still defined after Reset", src)
		}
	}
	if v := ts.eval(t, 3, "strings.ToUpper(\"a\")"); v.Text != `"A"` {
		t.Errorf("after Reset: %q", v.Text)
	}
}

func TestValueFormat(t *testing.T) {
	ts := newTestSession(t)
	tests := []struct{ src, text string }{
		{`""`, `""`},
		{`"tab\there"`, `"tab\there"`},
		{"3.5", "3.5"},
		{"[]string{\"a\", \"b\"}", "[a b]"},
		{"map[string]int{\"a\": 1}", "map[a:1]"},
		{"errors.New(\"bad\")", "bad"},
		{"var e error\ne", "<nil>"},
		{"struct{ A int; B string }{1, \"x\"}", "{1 x}"},
		{"true && false", "false"},
		{"'a'", "97"},
		{"time.Duration(90) * time.Second", "1m30s"},
	}
	for i, tt := range tests {
		v := ts.eval(t, i+1, tt.src)
		if !v.Ok || v.Text != tt.text {
			t.Errorf("%s: %+v, want %q", tt.src, v, tt.text)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	ts := newTestSession(t)
	ts.eval(t, 1, "n := 0")
	done := make(chan bool)
	go func() {
		for i := 0; i < 20; i++ {
			ts.Complete("strings.To", 10)
			ts.Inspect("n", 1, 0)
		}
		done <- true
	}()
	for i := 0; i < 20; i++ {
		ts.eval(t, i+2, "n++")
	}
	<-done
	if v := ts.eval(t, 30, "n"); v.Text != "20" {
		t.Errorf("n = %s", v.Text)
	}
}

func TestCompleteWhileBusy(t *testing.T) {
	if raceEnabled {
		t.Skip("yaegi's ExecuteWithContext races after an interrupt")
	}
	ts := newTestSession(t)
	ts.eval(t, 1, "myvar := 1")
	started := make(chan bool)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		close(started)
		ts.Eval(ctx, 2, "for {}")
	}()
	<-started
	time.Sleep(50 * time.Millisecond)
	begin := time.Now()
	got, _, _ := ts.Complete("strings.ToUp", 12)
	if len(got) != 2 || time.Since(begin) > 100*time.Millisecond {
		t.Errorf("while busy: %q after %v", got, time.Since(begin))
	}
	if text, ok := ts.Inspect("strings.ToUpper", 10, 0); !ok || !strings.Contains(text, "func ToUpper") {
		t.Errorf("inspect while busy: %q", text)
	}
}

func BenchmarkEvalTrivial(b *testing.B) {
	ts := newTestSession(b)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		ts.Eval(ctx, i, "1+1")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v, err := ts.Eval(ctx, i, "1+1"); err != nil || v.Text != "2" {
			b.Fatal(v, err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, err := New(Options{Env: []string{}})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

func TestCellDecls(t *testing.T) {
	src := "import \"strings\"\n" +
		"rank := 3\n" +
		"// where says where.\n" +
		"func where() string { return strings.ToUpper(\"x\") }\n" +
		"type T struct{ N int }\n" +
		"func (t T) Double() int { return 2 * t.N }\n" +
		"const a, b = 1, 2\n" +
		"fmt.Println(where(), rank)\n"
	got, err := CellDecls(7, src)
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, d := range got {
		if d.Cell != 7 {
			t.Errorf("%s: cell %d, want 7", d.Name, d.Cell)
		}
		summary = append(summary, fmt.Sprintf("%s %s@%d", d.Kind, d.Name, d.Line))
	}
	want := []string{"import strings@1", "func where@3", "type T@5", "func T.Double@6", "const a@7"}
	if strings.Join(summary, ", ") != strings.Join(want, ", ") {
		t.Errorf("CellDecls = %v, want %v", summary, want)
	}
	if _, err := CellDecls(8, "func ("); err == nil {
		t.Error("CellDecls of a syntax error: no error")
	}
}

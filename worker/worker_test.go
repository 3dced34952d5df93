package worker

import (
	"context"
	"errors"
	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the child process.
func TestMain(m *testing.M) {
	if os.Getenv("MPIGO_WORKER_TEST_CHILD") == "1" {
		if err := Serve(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(envKernelRole) == "1" {
		os.Exit(kernelRole())
	}
	os.Exit(m.Run())
}

func startEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := Start(context.Background(), Config{
		Command: []string{os.Args[0]},
		Env:     append(os.Environ(), "MPIGO_WORKER_TEST_CHILD=1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// answered returns a recorder of a cell's output that answers its input
// requests with answers, in order.
func answered(answers ...string) *celliotest.Recorder {
	r := celliotest.New()
	r.Answer(answers...)
	return r
}

// watched returns a recorder of a cell's output that calls f with every
// text streamed.
func watched(f func(name, text string)) *celliotest.Recorder {
	r := celliotest.New()
	r.OnStream(f)
	return r
}

func run(t *testing.T, e *Engine, cell int, code string, out Output, allowStdin bool) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return e.Execute(ctx, Request{Code: code, Cell: cell, AllowStdin: allowStdin}, out)
}

func TestOutputOrderAndValue(t *testing.T) {
	e := startEngine(t)
	out := celliotest.New()
	res, err := run(t, e, 1, `fmt.Print("a"); fmt.Fprint(os.Stderr, "e"); display.Markdown("*m*"); fmt.Println("b"); 6*7`, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Data["text/plain"]; got != "42" {
		t.Errorf("value %v, want 42", got)
	}
	if got := out.Text("stdout"); got != "ab\n" {
		t.Errorf("stdout %q", got)
	}
	if got := out.Text("stderr"); got != "e" {
		t.Errorf("stderr %q", got)
	}
	if len(out.Displays()) != 1 || out.Displays()[0].Data["text/markdown"] != "*m*" {
		t.Errorf("displays %+v", out.Displays())
	}
}

func TestUpdateShowsFirstThenUpdates(t *testing.T) {
	e := startEngine(t)
	out := celliotest.New()
	if _, err := run(t, e, 1, `for i := 0; i < 3; i++ { display.Update("p", map[string]any{"text/plain": fmt.Sprint(i)}) }`, out, false); err != nil {
		t.Fatal(err)
	}
	var updates []bool
	for _, d := range out.Displays() {
		if d.DisplayID != "p" {
			t.Fatalf("display id %q", d.DisplayID)
		}
		updates = append(updates, d.Update)
	}
	if len(updates) != 3 || updates[0] || !updates[1] || !updates[2] {
		t.Fatalf("update flags %v, want [false true true]", updates)
	}
}

func TestStreamsLive(t *testing.T) {
	e := startEngine(t)
	flag := filepath.Join(t.TempDir(), "go-on")
	out := watched(func(name, text string) {
		if strings.Contains(text, "first") {
			os.WriteFile(flag, nil, 0o600)
		}
	})
	// The cell only prints "second" once the test has seen "first": with
	// output held back until the end of the cell it would give up instead.
	code := `fmt.Println("first")
for i := 0; i < 600; i++ {
	if _, err := os.Stat(` + "`" + flag + "`" + `); err == nil { fmt.Println("second"); break }
	time.Sleep(50 * time.Millisecond)
}`
	if _, err := run(t, e, 1, code, out, false); err != nil {
		t.Fatal(err)
	}
	if got := out.Text("stdout"); got != "first\nsecond\n" {
		t.Fatalf("stdout %q", got)
	}
}

func TestStdin(t *testing.T) {
	e := startEngine(t)
	out := answered("gopher", "42")
	code := `var name string; var n int
fmt.Scanln(&name); fmt.Scanln(&n)
fmt.Println(name, n+1)`
	if _, err := run(t, e, 1, code, out, true); err != nil {
		t.Fatal(err)
	}
	if got := out.Text("stdout"); got != "gopher 43\n" || out.Asked() != 2 {
		t.Fatalf("stdout %q after %d input requests", got, out.Asked())
	}

	out = celliotest.New()
	if _, err := run(t, e, 2, `_, err := bufio.NewReader(os.Stdin).ReadString('\n'); fmt.Println(err)`, out, false); err != nil {
		t.Fatal(err)
	}
	if got := out.Text("stdout"); got != "EOF\n" || out.Asked() != 0 {
		t.Fatalf("without stdin: stdout %q after %d input requests", got, out.Asked())
	}
}

func TestInterruptKeepsState(t *testing.T) {
	e := startEngine(t)
	if _, err := run(t, e, 1, `x := 5`, celliotest.New(), false); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{`for {}`, `time.Sleep(time.Hour)`, `<-make(chan int)`} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		_, err := e.Execute(ctx, Request{Code: code, Cell: 2}, celliotest.New())
		var ce *Error
		if !errors.As(err, &ce) || ce.Name != cellio.Interrupted {
			t.Fatalf("%s: got %v, want an Interrupted error", code, err)
		}
	}
	res, err := run(t, e, 3, `x`, celliotest.New(), false)
	if err != nil || res.Data["text/plain"] != "5" {
		t.Fatalf("x after interrupts: %v %v", res.Data, err)
	}
}

func TestCrashRestartsWithDeclarations(t *testing.T) {
	e := startEngine(t)
	if _, err := run(t, e, 1, `func double(n int) int { return 2 * n }`, celliotest.New(), false); err != nil {
		t.Fatal(err)
	}
	out := celliotest.New()
	_, err := run(t, e, 2, `func r(n int) int { return r(n+1) + 1 }
r(0)`, out, false)
	var ce *Error
	if !errors.As(err, &ce) || ce.Name != cellio.InterpreterCrashed || !strings.Contains(ce.Value, "stack") {
		t.Fatalf("got %v, want an InterpreterCrashed error about the stack; stderr: %q", err, out.Text("stderr"))
	}
	res, err := run(t, e, 3, `double(21)`, celliotest.New(), false)
	if err != nil || res.Data["text/plain"] != "42" {
		t.Fatalf("declaration after crash: %v %v", res.Data, err)
	}
}

func TestClearOutput(t *testing.T) {
	e := startEngine(t)
	out := celliotest.New()
	if _, err := run(t, e, 1, `display.Text("old"); display.Clear(true)`, out, false); err != nil {
		t.Fatal(err)
	}
	if len(out.Displays()) != 2 || out.Displays()[0].Clear || !out.Displays()[1].Clear || !out.Displays()[1].Wait {
		t.Fatalf("displays %+v, want a text then a clear with wait", out.Displays())
	}
}

// BenchmarkExecuteTrivial is the hop to the child and back for a cell that
// does almost nothing: the part of an execute round trip the worker adds.
func BenchmarkExecuteTrivial(b *testing.B) {
	e, err := Start(context.Background(), Config{
		Command: []string{os.Args[0]},
		Env:     append(os.Environ(), "MPIGO_WORKER_TEST_CHILD=1"),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for i := range 20 {
		e.Execute(ctx, Request{Code: "1+1", Cell: i}, celliotest.New())
	}
	b.ResetTimer()
	for i := range b.N {
		r, err := e.Execute(ctx, Request{Code: "1+1", Cell: i}, celliotest.New())
		if err != nil || r.Data["text/plain"] != "2" {
			b.Fatal(r, err)
		}
	}
}

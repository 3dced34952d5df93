package goeval

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio"
)

// TestExit checks that os.Exit and log.Fatal end a cell at once, as they
// end a compiled program: no deferred call, no recover, log.Fatal's message
// written first; the cell fails with Exit and the session goes on.
func TestExit(t *testing.T) {
	tests := []struct {
		name   string
		setup  string // a cell run first, which must succeed
		src    string
		err    string // the cell's error; "" for none
		stdout string
		stderr string
		after  string // a cell run next, and the value it must show
		want   string
		// raceSkip: the exit comes from another goroutine than the
		// cell's, which yaegi's ExecuteWithContext then races with.
		raceSkip bool
	}{
		{
			name: "top level",
			src:  "fmt.Println(\"before\")\ndefer fmt.Println(\"deferred\")\nos.Exit(3)\nfmt.Println(\"after\")",
			err:  "Exit: exit status 3", stdout: "before\n",
		},
		{
			name: "zero",
			src:  "os.Exit(0)",
			err:  "Exit: exit status 0",
		},
		{
			name: "main with defer",
			src:  "func main() {\n\tfmt.Println(\"exiting with 3\")\n\tdefer fmt.Println(\"deferred: not printed\")\n\tos.Exit(3)\n}",
			err:  "Exit: exit status 3", stdout: "exiting with 3\n",
		},
		{
			name: "recover does not stop it",
			src:  "func main() {\n\tdefer func() {\n\t\tr := recover()\n\t\tfmt.Println(\"recover:\", r)\n\t}()\n\tos.Exit(1)\n\tprintln(\"not printed\")\n}",
			err:  "Exit: exit status 1",
		},
		{
			name: "nested calls",
			src:  "func f() { defer fmt.Println(\"f\"); os.Exit(2) }\nfunc g() { defer func() { recover(); fmt.Println(\"g\") }(); f() }\ng()",
			err:  "Exit: exit status 2",
		},
		{
			name: "log.Fatalf",
			src:  "log.SetFlags(0)\nfmt.Println(\"working\")\nlog.Fatalf(\"fatal: %d problems\", 2)",
			err:  "Exit: exit status 1", stdout: "working\n", stderr: "fatal: 2 problems\n",
		},
		{
			name: "log.Fatal and log.Fatalln with a prefix",
			src:  "log.SetFlags(0)\nlog.SetPrefix(\"app: \")\ndefer log.Println(\"deferred\")\nlog.Fatalln(\"bad\", 1)",
			err:  "Exit: exit status 1", stderr: "app: bad 1\n",
		},
		{
			name: "log.Fatal with a Stringer",
			src:  "type T int\nfunc (t T) String() string { return fmt.Sprintf(\"T(%d)\", int(t)) }\nlog.SetFlags(0)\nlog.Fatal(T(4))",
			err:  "Exit: exit status 1", stderr: "T(4)\n",
		},
		{
			name:  "log.New logger",
			setup: "var buf bytes.Buffer\nlogger := log.New(&buf, \"logger: \", 0)",
			src:   "func main() {\n\tdefer func() {\n\t\tr := recover()\n\t\tfmt.Println(\"recover:\", r, buf.String())\n\t}()\n\tlogger.Fatal(\"test log\")\n}",
			err:   "Exit: exit status 1",
			after: "buf.String()", want: `"logger: test log\n"`,
		},
		{
			name:  "log.Default",
			setup: "log.SetFlags(0)\nlog.Default().SetPrefix(\"d: \")\nlog.Print(\"p\")",
			src:   "var l *log.Logger = log.Default()\nl.Fatalf(\"x=%d\", 5)",
			err:   "Exit: exit status 1", stderr: "d: x=5\n",
			after: "log.Default() == log.Default()", want: "true",
		},
		{
			name:   "log.Panic still panics",
			src:    "func main() {\n\tlog.SetFlags(0)\n\tdefer func() { fmt.Println(\"recovered:\", recover()) }()\n\tlog.Panic(\"p\")\n}",
			stdout: "recovered: p\n", stderr: "p\n",
		},
		{
			name: "in a top-level deferred call",
			src:  "defer fmt.Println(\"first, not run\")\ndefer os.Exit(5)\nfmt.Println(\"body\")",
			err:  "Exit: exit status 5", stdout: "body\n",
		},
		{
			name: "in a String method of the shown value",
			src:  "type S int\nfunc (S) String() string { os.Exit(6); return \"\" }\nvar s S\ns",
			err:  "Exit: exit status 6",
		},
		{
			name: "from another goroutine",
			src:  "go func() {\n\tdefer fmt.Println(\"goroutine's defer\")\n\tos.Exit(4)\n}()\nselect {}",
			err:  "Exit: exit status 4", raceSkip: true,
		},
		{
			name: "from another goroutine while main sleeps",
			src:  "func main() {\n\tlog.SetFlags(0)\n\tgo log.Fatal(\"from g\")\n\tfor {\n\t\ttime.Sleep(time.Millisecond)\n\t}\n}",
			err:  "Exit: exit status 1", stderr: "from g\n", raceSkip: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.raceSkip && raceEnabled {
				t.Skip("yaegi's ExecuteWithContext races after an interrupt")
			}
			ts := newTestSession(t)
			ts.eval(t, 1, "x := 42")
			if tt.setup != "" {
				ts.eval(t, 2, tt.setup)
				ts.output(t)
			}
			start := time.Now()
			_, err := ts.Eval(context.Background(), 3, tt.src)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.err {
				t.Errorf("error %q, want %q", got, tt.err)
			}
			var e *Error
			if tt.err != "" && (!errors.As(err, &e) || e.Name != cellio.Exit || len(e.Traceback) != 1 || e.Traceback[0] != tt.err) {
				t.Errorf("error %#v", err)
			}
			stdout, stderr := ts.output(t)
			if stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", stdout, stderr, tt.stdout, tt.stderr)
			}
			if v := ts.eval(t, 4, "x"); v.Text != "42" {
				t.Errorf("after: x = %q", v.Text)
			}
			if tt.after != "" {
				if v := ts.eval(t, 5, tt.after); v.Text != tt.want {
					t.Errorf("after: %s = %q, want %q", tt.after, v.Text, tt.want)
				}
			}
			ts.eval(t, 6, "fmt.Println(\"next\")")
			if stdout, _ := ts.output(t); stdout != "next\n" {
				t.Errorf("next cell: stdout %q", stdout)
			}
		})
	}
}

// TestExitAfterCell checks os.Exit from a goroutine that outlives its cell:
// the goroutine stops with a note, the session goes on.
func TestExitAfterCell(t *testing.T) {
	ts := newTestSession(t)
	// A goroutine that exits while a cell runs ends that cell: the one
	// that exits here does it well after its cell has finished (a cell
	// of one go statement takes well under a second, even on a busy machine).
	ts.eval(t, 1, "x := 42\ngo func() {\n\tdefer fmt.Println(\"deferred\")\n\ttime.Sleep(time.Second)\n\tos.Exit(7)\n}()")
	var stderr, stdout string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ts.pipe.sync()
		o, e := ts.output(t)
		stdout += o
		stderr += e
		if stderr != "" {
			break
		}
	}
	const note = "mpigo: os.Exit(7) called by a goroutine after its cell had finished: the goroutine was stopped; the session goes on\n"
	if stdout != "" || stderr != note {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	if v := ts.eval(t, 3, "x"); v.Text != "42" {
		t.Errorf("x = %q", v.Text)
	}
}

// TestExitThenInterrupt checks that an interrupt still works after a cell
// exited.
func TestExitThenInterrupt(t *testing.T) {
	if raceEnabled {
		t.Skip("yaegi's ExecuteWithContext races after an interrupt")
	}
	ts := newTestSession(t)
	if _, err := ts.Eval(context.Background(), 1, "os.Exit(2)"); err == nil || err.Error() != "Exit: exit status 2" {
		t.Fatalf("os.Exit(2): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := ts.Eval(ctx, 2, "for {}")
	if e, ok := err.(*Error); !ok || e.Name != cellio.Interrupted {
		t.Errorf("for {}: %v", err)
	}
	if v := ts.eval(t, 3, "1 + 1"); v.Text != "2" {
		t.Errorf("1 + 1 = %q", v.Text)
	}
}

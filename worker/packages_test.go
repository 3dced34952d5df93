package worker

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
)

// fakePackager "builds" interpreters that are the test binary itself, so
// that the switch (replay, carried variables, progress, errors) is tested
// without compiling anything; a package it was asked for is then still
// missing in the child, which the cell reports.
type fakePackager struct {
	mu    sync.Mutex
	key   string
	fail  error
	asked [][]string
}

func (f *fakePackager) Interpreter(ctx context.Context, paths []string, progress func(string)) (Interpreter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, paths)
	progress("compiling")
	if f.fail != nil {
		return Interpreter{}, f.fail
	}
	return Interpreter{Command: []string{os.Args[0]}, Key: f.key, About: strings.Join(paths, ", ") + " (fake)"}, nil
}

func (f *fakePackager) Key(ctx context.Context, paths []string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.key, nil
}

func startWithPackager(t *testing.T, p Packager) *Engine {
	t.Helper()
	e, err := Start(context.Background(), Config{
		Command:  []string{os.Args[0]},
		Env:      append(os.Environ(), "MPIGO_WORKER_TEST_CHILD=1"),
		Packages: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// lastText is the text of the last display (or update) with id's prefix.
func lastText(out *celliotest.Recorder) string {
	var text string
	for _, d := range out.Displays() {
		if strings.HasPrefix(d.DisplayID, "mpigo-interp-") {
			text, _ = d.Data["text/plain"].(string)
		}
	}
	return text
}

func TestSwitchReplaysDeclarationsAndCarriesVariables(t *testing.T) {
	fake := &fakePackager{key: "k1"}
	e := startWithPackager(t, fake)
	if _, err := run(t, e, 1, "func double(x int) int { return 2 * x }\nxs := []int{1, 2}\nfn := func() {}", celliotest.New(), false); err != nil {
		t.Fatal(err)
	}
	out := celliotest.New()
	_, err := run(t, e, 2, "import \"example.com/fake/pkg\"\n", out, false)
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Name != cellio.ImportError {
		t.Fatalf("the fake interpreter lacks the package: err = %v, want an ImportError from the child", err)
	}
	if len(fake.asked) != 1 || fake.asked[0][0] != "example.com/fake/pkg" {
		t.Fatalf("packager asked for %v", fake.asked)
	}
	note := lastText(out)
	for _, want := range []string{"Interpreter with example.com/fake/pkg (fake) compiled in", "Declarations of earlier cells replayed", "Variables carried over: xs", "fn ("} {
		if !strings.Contains(note, want) {
			t.Errorf("switch note %q lacks %q", note, want)
		}
	}
	res, err := run(t, e, 3, "double(len(xs))", celliotest.New(), false)
	if err != nil || res.Data["text/plain"] != "4" {
		t.Fatalf("after the switch: %v, %v; want 4", res.Data["text/plain"], err)
	}
	if got := e.Packages(); len(got) != 1 {
		t.Errorf("Packages() = %v", got)
	}
	// What the interpreter was built from changed (another version, an
	// edited local module): the next cell rebuilds it, without new imports.
	fake.mu.Lock()
	fake.key = "k2"
	fake.mu.Unlock()
	if _, err := run(t, e, 4, "xs", celliotest.New(), false); err != nil {
		t.Fatal(err)
	}
	if len(fake.asked) != 2 {
		t.Errorf("a changed key did not rebuild: asked %v", fake.asked)
	}
}

func TestFailedBuildLosesNothing(t *testing.T) {
	fake := &fakePackager{key: "k1", fail: errors.New("no module provides example.com/absent")}
	e := startWithPackager(t, fake)
	if _, err := run(t, e, 1, "x := 5", celliotest.New(), false); err != nil {
		t.Fatal(err)
	}
	pid := e.proc.cmd.Process.Pid
	_, err := run(t, e, 2, "y := 1\nimport \"example.com/absent\"\n", celliotest.New(), false)
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Name != cellio.ImportError {
		t.Fatalf("err = %v, want an ImportError", err)
	}
	for _, want := range []string{"cell[2]:2:8", "cannot import example.com/absent", "no module provides", "nothing of the session was lost"} {
		if !strings.Contains(cerr.Value, want) {
			t.Errorf("error %q lacks %q", cerr.Value, want)
		}
	}
	if e.proc.cmd.Process.Pid != pid {
		t.Error("a failed build replaced the interpreter")
	}
	if res, err := run(t, e, 3, "x", celliotest.New(), false); err != nil || res.Data["text/plain"] != "5" {
		t.Fatalf("x = %v, %v; want 5", res.Data["text/plain"], err)
	}
}

package goeval

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// testSession is a session whose standard streams go to temporary files,
// so each cell's output can be read back exactly.
type testSession struct {
	*Session
	out, errf *os.File
	outOff    int64
	errOff    int64
}

func newTestSession(t testing.TB) *testSession {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Stdout: out, Stderr: errf, Env: []string{"HOME=/home/test", "MPIGO_TEST=1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); out.Close(); errf.Close() })
	return &testSession{Session: s, out: out, errf: errf}
}

// output returns what the session wrote to stdout and stderr since the last
// call.
func (ts *testSession) output(t testing.TB) (stdout, stderr string) {
	t.Helper()
	read := func(f *os.File, off *int64) string {
		b, err := io.ReadAll(io.NewSectionReader(f, *off, 1<<30))
		if err != nil {
			t.Fatal(err)
		}
		*off += int64(len(b))
		return string(b)
	}
	return read(ts.out, &ts.outOff), read(ts.errf, &ts.errOff)
}

// TestCorpus runs the sessions in testdata/*.txtar. Each archive is one
// session; a "cell" section is a cell (numbered from 1), and the sections
// after it hold what the cell must produce: "value" (the final expression's
// text; absent: no value), "stdout" and "stderr" (absent: nothing),
// "error" ("Name: Value"; absent: no error), "traceback" (texts that
// traceback lines must contain, in order).
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatal("no corpus", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			runCorpus(t, ar)
		})
	}
}

type corpusCell struct {
	src    string
	expect map[string]string
}

func runCorpus(t *testing.T, ar *txtar.Archive) {
	var cells []*corpusCell
	for _, f := range ar.Files {
		if f.Name == "cell" {
			cells = append(cells, &corpusCell{src: string(f.Data), expect: map[string]string{}})
			continue
		}
		if len(cells) == 0 {
			t.Fatalf("section %q before any cell", f.Name)
		}
		cells[len(cells)-1].expect[f.Name] = string(f.Data)
	}
	ts := newTestSession(t)
	for i, c := range cells {
		n := i + 1
		v, err := ts.Eval(context.Background(), n, c.src)
		stdout, stderr := ts.output(t)
		check := func(what, got string) {
			want, ok := c.expect[what]
			if !ok {
				want = ""
			}
			if strings.TrimRight(got, " \n") != strings.TrimRight(want, " \n") {
				t.Errorf("cell[%d] %s:\n%s\n%s: got\n%s\nwant\n%s", n, what, c.src, what, got, want)
			}
		}
		gotErr := ""
		var e *Error
		if err != nil {
			var ok bool
			if e, ok = err.(*Error); !ok {
				t.Fatalf("cell[%d]: error %T is not *Error: %v", n, err, err)
			}
			gotErr = string(e.Name) + ": " + e.Value
		}
		check("error", gotErr)
		gotValue := ""
		if v.Ok {
			gotValue = v.Text
		}
		if _, ok := c.expect["value"]; v.Ok && !ok {
			t.Errorf("cell[%d]: unexpected value %q", n, v.Text)
		} else {
			check("value", gotValue)
		}
		check("stdout", stdout)
		check("stderr", stderr)
		if tb, ok := c.expect["traceback"]; ok {
			var lines []string
			if e != nil {
				lines = e.Traceback
			}
			j := 0
			for _, want := range strings.Split(strings.TrimRight(tb, "\n"), "\n") {
				for j < len(lines) && !strings.Contains(lines[j], want) {
					j++
				}
				if j == len(lines) {
					t.Errorf("cell[%d]: traceback %q lacks %q (in order)", n, lines, want)
					break
				}
			}
		}
	}
}

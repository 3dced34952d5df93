package kernel

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
)

func TestSplitCell(t *testing.T) {
	type p = cellPart
	tests := []struct {
		name string
		code string
		want []cellPart
	}{
		{"plain go", "x := 1\nx", []p{{line: 1, text: "x := 1\nx"}}},
		{"empty", "", []p{{line: 1, text: ""}}},
		{"magic only", "%pwd", []p{{magic: true, line: 1, text: "%pwd"}}},
		{"magic then go keeps line numbers", "%env A=1\nx := 1\ny := x",
			[]p{{magic: true, line: 1, text: "%env A=1"}, {line: 2, text: "\nx := 1\ny := x"}}},
		{"go magic go", "a := 1\n!ls -l\nb := 2\n",
			[]p{{line: 1, text: "a := 1"}, {magic: true, line: 2, text: "!ls -l"}, {line: 3, text: "\n\nb := 2\n"}}},
		{"consecutive magics", "!echo a\n%cd /tmp\r\n",
			[]p{{magic: true, line: 1, text: "!echo a"}, {magic: true, line: 2, text: "%cd /tmp"}, {line: 3, text: "\n\n"}}},
		{"indented is go", "  %x\n\t!y", []p{{line: 1, text: "  %x\n\t!y"}}},
		{"percent inside raw string is go", "fmt.Printf(`a\n%d\n`, 1)\n%pwd",
			[]p{{line: 1, text: "fmt.Printf(`a\n%d\n`, 1)"}, {magic: true, line: 4, text: "%pwd"}}},
		{"percent inside block comment is go", "/* a\n%d */\n!ls",
			[]p{{line: 1, text: "/* a\n%d */"}, {magic: true, line: 3, text: "!ls"}}},
		{"backquote in a string or comment opens nothing", "s := \"`\" // `\n%pwd\nr := '`'\n!ls",
			[]p{{line: 1, text: "s := \"`\" // `"}, {magic: true, line: 2, text: "%pwd"}, {line: 3, text: "\n\nr := '`'"}, {magic: true, line: 4, text: "!ls"}}},
		{"escaped quote in a string", "s := \"\\\"`\"\n%pwd",
			[]p{{line: 1, text: "s := \"\\\"`\""}, {magic: true, line: 2, text: "%pwd"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitCell(tt.code); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitCell(%q)\n got %+v\nwant %+v", tt.code, got, tt.want)
			}
		})
	}
}

func TestMaskMagics(t *testing.T) {
	code := "%env é=1\nx := 1\n!ls"
	got := maskMagics(code)
	if want := "        \nx := 1\n   "; got != want {
		t.Errorf("maskMagics = %q, want %q", got, want)
	}
	if len([]rune(got)) != len([]rune(code)) {
		t.Error("masking changed code point offsets")
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"   ", nil, false},
		{"-n 4", []string{"-n", "4"}, false},
		{"  a\t b  ", []string{"a", "b"}, false},
		{`--env "A=x y" 'B=$HOME'`, []string{"--env", "A=x y", "B=$HOME"}, false},
		{`a"b c"d`, []string{"ab cd"}, false},
		{`""`, []string{""}, false},
		{`'' x`, []string{"", "x"}, false},
		{`a\ b`, []string{"a b"}, false},
		{`"say \"hi\" \\ \$x \n"`, []string{`say "hi" \ $x \n`}, false},
		{`'it''s'`, []string{"its"}, false},
		{`trailing\`, []string{`trailing\`}, false},
		{"a\\\nb", []string{"ab"}, false},
		{`héllo wörld`, []string{"héllo", "wörld"}, false},
		{`"unterminated`, nil, true},
		{`'unterminated`, nil, true},
	}
	for _, tt := range tests {
		got, err := splitArgs(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("splitArgs(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMagicName(t *testing.T) {
	tests := []struct {
		line, name, rest string
		percents         int
	}{
		{"%env", "env", "", 1},
		{"%env  A=1 ", "env", "A=1", 1},
		{"%%mpirun -n 4", "mpirun", "-n 4", 2},
		{"%", "", "", 1},
		{"%cd\tdir", "cd", "dir", 1},
	}
	for _, tt := range tests {
		name, rest, percents := magicName(tt.line)
		if name != tt.name || rest != tt.rest || percents != tt.percents {
			t.Errorf("magicName(%q) = %q, %q, %d", tt.line, name, rest, percents)
		}
	}
}

func TestIsComplete(t *testing.T) {
	cell := map[string]CellMagic{"mpirun": nil}
	goComplete := func(code string) (string, string) {
		if strings.Count(code, "{") > strings.Count(code, "}") {
			return "incomplete", "\t"
		}
		return "complete", ""
	}
	tests := []struct {
		code, status, indent string
	}{
		{"%pwd", "complete", ""},
		{"!ls\n%env", "complete", ""},
		{"", "complete", ""},
		{"for {", "incomplete", "\t"},
		{"%cd /tmp\nfor {", "incomplete", "\t"},
		{"%cd /tmp\nfor {}", "complete", ""},
		{"%mpirun -n 4", "incomplete", ""},
		{"%%mpirun -n 4\n", "incomplete", ""},
		{"%mpirun -n 4\nfmt.Println(1)", "incomplete", ""},
		{"%mpirun -n 4\nfmt.Println(1)\n\n", "complete", ""},
		{"%%other\nx\n", "incomplete", ""},
		{"%%other\nx\n  \n", "complete", ""},
	}
	for _, tt := range tests {
		status, indent := isComplete(tt.code, cell, goComplete)
		if status != tt.status || indent != tt.indent {
			t.Errorf("isComplete(%q) = %q, %q; want %q, %q", tt.code, status, indent, tt.status, tt.indent)
		}
	}
	if status, _ := isComplete("x :=", nil, nil); status != "unknown" {
		t.Errorf("without a Go checker: %q, want unknown", status)
	}
}

func TestCompleteMagic(t *testing.T) {
	cell := map[string]CellMagic{"mpirun": nil}
	tests := []struct {
		code    string
		cursor  int
		want    []string
		start   int
		isMagic bool
	}{
		{"%e", 2, []string{"%env"}, 0, true},
		{"x := 1\n%", 8, []string{"%cd", "%env", "%help", "%lsmagic", "%mpirun", "%pwd", "%reset"}, 7, true},
		{"%%m", 3, []string{"%%mpirun"}, 0, true},
		{"%env HO", 7, []string{}, 7, true},
		{"!ls", 3, []string{}, 3, true},
		{"fmt.Pr", 6, nil, 0, false},
	}
	for _, tt := range tests {
		line, col, ok := magicLineAt(tt.code, tt.cursor)
		if ok != tt.isMagic {
			t.Errorf("magicLineAt(%q, %d) ok = %v", tt.code, tt.cursor, ok)
			continue
		}
		if !ok {
			continue
		}
		c := completeMagic(line, col, tt.cursor, lineMagicHelp, cell)
		if !reflect.DeepEqual(c.Matches, tt.want) || c.Start != tt.start || c.End != tt.cursor {
			t.Errorf("completeMagic(%q, %d) = %+v, want %q from %d", tt.code, tt.cursor, c, tt.want, tt.start)
		}
	}
}

func TestHistoryQuery(t *testing.T) {
	var h history
	h.add(1, "x := 1", "")
	h.add(2, "fmt.Println(x)", "")
	h.add(3, "x", "1")
	h.add(4, "fmt.Println(x)", "")
	n := func(i int) *int { return &i }
	entry := func(line int, input string) []any { return []any{historySession, line, input} }
	tests := []struct {
		name string
		req  historyRequest
		want [][]any
	}{
		{"tail", historyRequest{HistAccessType: "tail", N: n(2)}, [][]any{entry(3, "x"), entry(4, "fmt.Println(x)")}},
		{"tail all", historyRequest{HistAccessType: "tail", N: n(10)}, [][]any{entry(1, "x := 1"), entry(2, "fmt.Println(x)"), entry(3, "x"), entry(4, "fmt.Println(x)")}},
		{"range", historyRequest{HistAccessType: "range", Start: 2, Stop: n(4)}, [][]any{entry(2, "fmt.Println(x)"), entry(3, "x")}},
		{"range open end", historyRequest{HistAccessType: "range", Session: historySession, Start: 4}, [][]any{entry(4, "fmt.Println(x)")}},
		{"range other session", historyRequest{HistAccessType: "range", Session: -1}, [][]any{}},
		{"search", historyRequest{HistAccessType: "search", Pattern: "fmt*"}, [][]any{entry(2, "fmt.Println(x)"), entry(4, "fmt.Println(x)")}},
		{"search unique", historyRequest{HistAccessType: "search", Pattern: "*Print*", Unique: true}, [][]any{entry(4, "fmt.Println(x)")}},
		{"search n", historyRequest{HistAccessType: "search", Pattern: "?", N: n(1)}, [][]any{entry(3, "x")}},
		{"search metacharacters are literal", historyRequest{HistAccessType: "search", Pattern: "fmt.Println(x)"}, [][]any{entry(2, "fmt.Println(x)"), entry(4, "fmt.Println(x)")}},
		{"output", historyRequest{HistAccessType: "range", Start: 3, Stop: n(4), Output: true}, [][]any{{historySession, 3, []any{"x", "1"}}}},
		{"unknown access type", historyRequest{HistAccessType: "bogus"}, [][]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := h.query(tt.req); err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestLineMagics(t *testing.T) {
	t.Setenv("MPIGO_TEST_VAR", "before")
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // restored after the test
	eng := &fakeEngine{}
	k := &kernel{engine: eng, cfg: Config{}}
	run := func(line string) (*celliotest.Recorder, error) {
		r := celliotest.New()
		err := k.lineMagic(context.Background(), line, r)
		return r, err
	}
	if r, err := run("%env MPIGO_TEST_VAR"); err != nil || r.Text("stdout") != "before\n" {
		t.Errorf("%%env K: %q, %v", r.Text("stdout"), err)
	}
	if _, err := run("%env MPIGO_TEST_VAR=after it"); err != nil || eng.lastEnv != "MPIGO_TEST_VAR=after it" {
		t.Errorf("%%env K=V: %v, engine saw %q", err, eng.lastEnv)
	}
	if r, _ := run("%env"); !strings.Contains(r.Text("stdout"), "\nMPIGO_TEST_VAR=after it\n") {
		t.Errorf("%%env listing lacks the variable")
	}
	if _, err := run(`%env MPIGO_TEST_VAR "spaced value"`); err != nil || eng.lastEnv != "MPIGO_TEST_VAR=spaced value" {
		t.Errorf("%%env K V: %v, engine saw %q", err, eng.lastEnv)
	}
	if _, err := run("%env -u MPIGO_TEST_VAR"); err != nil || eng.lastEnv != "-MPIGO_TEST_VAR" {
		t.Errorf("%%env -u: %v, engine saw %q", err, eng.lastEnv)
	}
	if _, err := run("%env MPIGO_TEST_VAR"); err == nil {
		t.Error("env of an unset variable should fail")
	}
	if r, err := run("%cd " + dir); err != nil || eng.lastDir != dir || r.Text("stdout") != dir+"\n" {
		t.Errorf("%%cd: %v, engine dir %q, printed %q", err, eng.lastDir, r.Text("stdout"))
	}
	if r, _ := run("%pwd"); r.Text("stdout") != dir+"\n" {
		t.Errorf("%%pwd = %q", r.Text("stdout"))
	}
	if _, err := run("%cd -"); err != nil || eng.lastDir == dir {
		t.Errorf("%%cd -: %v, engine dir %q", err, eng.lastDir)
	}
	if _, err := run("%cd " + dir + "/does-not-exist"); err == nil {
		t.Error("cd to a missing directory should fail")
	}
	if _, err := run("%reset"); err != nil || eng.resets != 1 {
		t.Errorf("%%reset: %v, resets %d", err, eng.resets)
	}
	r, err := run("%help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"!COMMAND", "%env", "%cd", "%pwd", "%reset", "display.", "final bare expression", "imports"} {
		if !strings.Contains(r.Text("stdout"), want) {
			t.Errorf("%%help lacks %q", want)
		}
	}
	if strings.Contains(r.Text("stdout"), "mpirun") {
		t.Errorf("%%help of a kernel without cell magics names one:\n%s", r.Text("stdout"))
	}
	// The kernel knows cell magics only by registration, with their docs.
	k.cfg.CellMagics = map[string]CellMagic{"mpirun": nil, "time": nil}
	k.cfg.CellMagicDocs = map[string]MagicDoc{"mpirun": {Usage: "%mpirun -n N", Desc: "runs on N ranks", Example: "%mpirun -n 4"}}
	if r, _ := run("%help"); !strings.Contains(r.Text("stdout"), "%mpirun -n N         runs on N ranks") ||
		!strings.Contains(r.Text("stdout"), "e.g. %mpirun -n 4") || !strings.Contains(r.Text("stdout"), "also: %time") {
		t.Errorf("%%help with registered cell magics:\n%s", r.Text("stdout"))
	}
	k.cfg.CellMagics, k.cfg.CellMagicDocs = nil, nil
	for _, bad := range []string{"%nosuch", "%mpirun -n 2", "%%mpirun", "%"} {
		_, err := run(bad)
		werr, ok := err.(*cellio.Error)
		if !ok || werr.Name != cellio.UsageError || !strings.Contains(werr.Value, "help") && !strings.Contains(werr.Value, "README") {
			t.Errorf("%s: error %v, want a UsageError pointing at %%help", bad, err)
		}
	}
	if _, err := run("%nosuch"); err == nil || !strings.Contains(err.Error(), "%nosuch") {
		t.Errorf("unknown magic error should name it: %v", err)
	}
}

func TestShellCommand(t *testing.T) {
	k := &kernel{}
	r := celliotest.New()
	if err := k.shellCommand(context.Background(), "echo out; echo err >&2; exit 3", r); err != nil {
		t.Fatal(err)
	}
	if r.Text("stdout") != "out\n" {
		t.Errorf("stdout = %q", r.Text("stdout"))
	}
	if r.Text("stderr") != "err\nexit status 3\n" {
		t.Errorf("stderr = %q", r.Text("stderr"))
	}
	// A background child holding the pipes must not hang the cell.
	r = celliotest.New()
	if err := k.shellCommand(context.Background(), "sleep 2 & echo started", r); err != nil {
		t.Fatal(err)
	}
	if r.Text("stdout") != "started\n" {
		t.Errorf("stdout = %q", r.Text("stdout"))
	}
}

func TestShellCommandInterrupt(t *testing.T) {
	k := &kernel{}
	ctx, cancel := context.WithCancel(context.Background())
	r := &streamWatcher{Recorder: celliotest.New(), started: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- k.shellCommand(ctx, "trap '' TERM; echo ready; sleep 30; echo never", r) }()
	<-r.started
	cancel()
	err := <-done // TERM is trapped: this needs the SIGKILL
	werr, ok := err.(*cellio.Error)
	if !ok || werr.Name != cellio.Interrupted {
		t.Fatalf("err = %v, want Interrupted", err)
	}
}

// streamWatcher is an Output that closes started at the first stream.
type streamWatcher struct {
	*celliotest.Recorder
	started chan struct{}
	once    bool
}

func (w *streamWatcher) Stream(name, text string) {
	if !w.once {
		w.once = true
		close(w.started)
	}
}

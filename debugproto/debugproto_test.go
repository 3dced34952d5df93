package debugproto

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Vectors computed with ipykernel's murmur2_x86 (ipykernel/compiler.py),
// which JupyterLab's hash.ts matches.
func TestMurmur2(t *testing.T) {
	tests := []struct {
		in         string
		seeded, h0 uint32
	}{
		{"", 3990065800, 0},
		{"a", 2167009006, 2456313694},
		{"ab", 2805137849, 446775395},
		{"abc", 3350977461, 324500635},
		{"abcd", 804720481, 646393889},
		{"x := 42", 4042238066, 3344890834},
		{"fmt.Println(\"héllo, 世界\")\n", 1090043518, 3422401956},
		{"for i := 0; i < 3; i++ {\n\tfmt.Println(i)\n}\n", 481433914, 747891004},
	}
	for _, tt := range tests {
		if got := Murmur2([]byte(tt.in), HashSeed); got != tt.seeded {
			t.Errorf("Murmur2(%q, HashSeed) = %d, want %d", tt.in, got, tt.seeded)
		}
		if got := Murmur2([]byte(tt.in), 0); got != tt.h0 {
			t.Errorf("Murmur2(%q, 0) = %d, want %d", tt.in, got, tt.h0)
		}
	}
}

func TestPaths(t *testing.T) {
	p, err := NewPaths()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Remove() })
	if fi, err := os.Stat(p.Prefix); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("prefix %s: %v, %v; want a private directory", p.Prefix, fi, err)
	}
	code := "x := 42"
	if want := p.Prefix + "4042238066.go"; p.Path(code) != want {
		t.Fatalf("Path = %s, want %s", p.Path(code), want)
	}
	path, err := p.Dump(code)
	if err != nil || path != p.Path(code) {
		t.Fatalf("Dump = %s, %v", path, err)
	}
	if got, err := p.Read(path); err != nil || got != code {
		t.Fatalf("Read = %q, %v", got, err)
	}
	owns := []struct {
		path string
		want bool
	}{
		{path, true},
		{p.Prefix + "12.go", true},
		{p.Prefix + ".go", false},
		{p.Prefix + "12.py", false},
		{p.Prefix + "1a.go", false},
		{p.Prefix + "../12.go", false},
		{p.Prefix + "99999999999.go", false},
		{"/etc/passwd", false},
		{filepath.Dir(filepath.Clean(p.Prefix)) + "/12.go", false},
	}
	for _, tt := range owns {
		if got := p.Owns(tt.path); got != tt.want {
			t.Errorf("Owns(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	var e *Error
	if _, err := p.Read("/etc/passwd"); !errors.As(err, &e) || e.Kind != KindUnknownSource {
		t.Errorf("Read(/etc/passwd) = %v, want KindUnknownSource", err)
	}
	if _, err := p.Dump(strings.Repeat("x", MaxCell+1)); !errors.As(err, &e) || e.Kind != KindTooLarge {
		t.Errorf("Dump(huge) = %v, want KindTooLarge", err)
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		in      string
		kind    ErrorKind // 0: valid
		command string
	}{
		{`{"type":"request","seq":3,"command":"debugInfo"}`, 0, "debugInfo"},
		{`{"type":"request","seq":3,"command":"dumpCell","arguments":{"code":"x"}}`, 0, "dumpCell"},
		{`{"type":"request","seq":3}`, KindMalformed, ""},
		{`{"type":"event","seq":3,"command":"x"}`, KindMalformed, "x"},
		{`{"type":"request","seq":"3","command":"x"}`, KindMalformed, ""},
		{`[1,2]`, KindMalformed, ""},
		{`{"type":"request","seq":1,"command":"x"} {}`, KindMalformed, "x"},
		{`not json`, KindMalformed, ""},
		{`{"type":"request","seq":1,"command":"` + strings.Repeat("x", MaxRequest) + `"}`, KindTooLarge, ""},
	}
	for _, tt := range tests {
		req, err := ParseRequest([]byte(tt.in))
		var e *Error
		switch {
		case tt.kind == 0 && err != nil:
			t.Errorf("ParseRequest(%.60s) = %v", tt.in, err)
		case tt.kind != 0 && (!errors.As(err, &e) || e.Kind != tt.kind):
			t.Errorf("ParseRequest(%.60s) = %v, want kind %d", tt.in, err, tt.kind)
		case req.Command != tt.command:
			t.Errorf("ParseRequest(%.60s).Command = %q, want %q", tt.in, req.Command, tt.command)
		}
	}
}

func TestDecodeArgs(t *testing.T) {
	var args struct {
		Code string `json:"code"`
	}
	tests := []struct {
		args string
		ok   bool
	}{{``, true}, {`null`, true}, {`{"code":"x"}`, true}, {`{"code":1}`, false}, {`[]`, false}}
	for _, tt := range tests {
		err := DecodeArgs(Request{Command: "dumpCell", Arguments: []byte(tt.args)}, &args)
		if (err == nil) != tt.ok {
			t.Errorf("DecodeArgs(%s) = %v, want ok %v", tt.args, err, tt.ok)
		}
	}
}

func TestBreakpoints(t *testing.T) {
	s := NewSession(Paths{Prefix: "/p/", Suffix: Suffix, Seed: HashSeed})
	steps := []struct {
		source string
		lines  []int
		want   map[string][]int
	}{
		{"/p/1.go", []int{2, 5}, map[string][]int{"/p/1.go": {2, 5}}},
		{"/p/2.go", []int{1}, map[string][]int{"/p/1.go": {2, 5}, "/p/2.go": {1}}},
		{"/p/1.go", []int{3}, map[string][]int{"/p/1.go": {3}, "/p/2.go": {1}}},
		{"/p/2.go", nil, map[string][]int{"/p/1.go": {3}}},
	}
	for i, st := range steps {
		var bps []SourceBreakpoint
		for _, l := range st.lines {
			bps = append(bps, SourceBreakpoint{Line: l})
		}
		got, err := s.SetBreakpoints(st.source, bps)
		if err != nil || len(got) != len(bps) {
			t.Fatalf("step %d: SetBreakpoints = %v, %v", i, got, err)
		}
		for j, b := range got {
			if !b.Verified || b.Line != st.lines[j] || b.Source.Path != st.source {
				t.Errorf("step %d: breakpoint %d = %+v", i, j, b)
			}
		}
		all := s.Breakpoints()
		if len(all) != len(st.want) {
			t.Errorf("step %d: Breakpoints = %v, want %v", i, all, st.want)
		}
		for src, lines := range st.want {
			for j, l := range lines {
				if j >= len(all[src]) || all[src][j].Line != l {
					t.Errorf("step %d: %s = %v, want %v", i, src, all[src], lines)
				}
			}
		}
	}
	if info := s.Info(); len(info.Breakpoints) != 1 || info.Breakpoints[0].Source != "/p/1.go" {
		t.Errorf("Info().Breakpoints = %+v", info.Breakpoints)
	}
	if _, err := s.SetBreakpoints("/p/3.go", make([]SourceBreakpoint, maxBreakpoints+1)); err == nil {
		t.Error("SetBreakpoints over the limit succeeded")
	}
	s.Stop()
	if len(s.Breakpoints()) != 0 || s.Started() {
		t.Error("Stop kept the breakpoints or the session")
	}
}

func TestObserveStoppedThreads(t *testing.T) {
	s := NewSession(Paths{})
	steps := []struct {
		ev   Event
		want []int
	}{
		{NewEvent("stopped", ThreadBody{Reason: "breakpoint", ThreadID: 2}), []int{2}},
		{NewEvent("stopped", ThreadBody{Reason: "step", ThreadID: 1}), []int{1, 2}},
		{NewEvent("continued", ThreadBody{ThreadID: 2}), []int{1}},
		{NewEvent("output", nil), []int{1}},
		{NewEvent("terminated", nil), []int{}},
		{NewEvent("stopped", ThreadBody{ThreadID: 1}), []int{1}},
		{NewEvent("continued", ThreadBody{ThreadID: 9, AllThreadsContinued: true}), []int{}},
	}
	for i, st := range steps {
		s.Observe(st.ev)
		got := s.StoppedThreads()
		if len(got) != len(st.want) || (len(got) > 0 && got[0] != st.want[0]) || s.Stopped() != (len(st.want) > 0) {
			t.Errorf("step %d (%s): stopped %v, want %v", i, st.ev.Event, got, st.want)
		}
	}
}

func TestExpose(t *testing.T) {
	s := NewSession(Paths{})
	vars := s.Expose([]Variable{
		{Name: "x", Type: "int", Value: "42"},
		{Name: "p", Type: "Point", Value: "{1 {2}}", Children: []Variable{
			{Name: "X", Type: "int", Value: "1"},
			{Name: "In", Type: "Inner", Value: "{2}", Children: []Variable{{Name: "Y", Type: "int", Value: "2"}}},
		}},
	})
	if vars[0].VariablesReference != 0 || vars[1].VariablesReference == 0 || vars[1].Children != nil {
		t.Fatalf("Expose = %+v", vars)
	}
	fields, ok := s.Children(vars[1].VariablesReference)
	if !ok || len(fields) != 2 || fields[1].VariablesReference == 0 {
		t.Fatalf("Children(p) = %+v, %v", fields, ok)
	}
	inner, ok := s.Children(fields[1].VariablesReference)
	if !ok || len(inner) != 1 || inner[0].Value != "2" {
		t.Fatalf("Children(p.In) = %+v, %v", inner, ok)
	}
	if _, ok := s.Children(999); ok {
		t.Error("Children(999) found a reference never handed out")
	}
	s.Expose(nil)
	if _, ok := s.Children(vars[1].VariablesReference); ok {
		t.Error("a reference survived the next Expose")
	}
}

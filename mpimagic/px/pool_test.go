package px

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/px/pxwire"
)

func TestMain(m *testing.M) {
	if code, ok := fakeMain(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// fakeSpec launches n fake ranks with the test binary as the launcher
// (started the way an MPICH mpiexec is), env added to theirs.
func fakeSpec(t *testing.T, n int, env ...string) Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var clean []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLURM_") {
			clean = append(clean, kv)
		}
	}
	return Spec{
		Req:      launch.Request{N: n, Env: env, Environ: environ.New(clean...)},
		Launcher: &launch.Launcher{Kind: "mpirun", Path: exe, Flavour: build.MPICH},
	}
}

// fakeConfig builds the fake rank (the test binary) at once.
func fakeConfig(t *testing.T) Config {
	exe, _ := os.Executable()
	return Config{
		Build:        func(context.Context, func(string)) ([]string, error) { return []string{exe, "pxrank"}, nil },
		StartTimeout: 20 * time.Second,
		Grace:        300 * time.Millisecond,
	}
}

// start starts a pool, closed at the test's end; every process it started
// must be gone then.
func start(t *testing.T, cfg Config, spec Spec) *Pool {
	t.Helper()
	p, err := Start(context.Background(), cfg, spec, celliotest.New())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	pids := p.pids()
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		checkGone(t, pids)
	})
	return p
}

// pids are the launcher's and the ranks' process ids.
func (p *Pool) pids() []int {
	out := []int{p.cmd.Process.Pid}
	for _, r := range p.Ranks() {
		out = append(out, r.PID)
	}
	return out
}

// checkGone fails t when a process of pids is alive (a zombie counts as
// gone: it runs nothing).
func checkGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		for deadline := time.Now().Add(5 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("process %d is still running", pid)
				break
			}
		}
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// run runs code on ranks (nil: all) and returns the recorder.
func run(t *testing.T, ctx context.Context, p *Pool, code string, ranks []int, out string) (*celliotest.Recorder, cellio.Result, error) {
	t.Helper()
	rec := celliotest.New()
	res, err := p.Run(ctx, Cell{Count: 1, Code: code, Ranks: ranks, Out: out}, rec)
	return rec, res, err
}

// kindOf is err's kind, "" for none.
func kindOf(err error) cellio.Kind {
	var ce *cellio.Error
	if errors.As(err, &ce) {
		return ce.Name
	}
	return ""
}

func TestCells(t *testing.T) {
	cfg := fakeConfig(t)
	decls := []goeval.Decl{{Kind: "func", Name: "f", Src: "func f() {}"}, {Kind: "const", Name: "k", Src: "const k = 1"}}
	cfg.Decls = func() []goeval.Decl { return decls }
	p := start(t, cfg, fakeSpec(t, 3))
	ctx := context.Background()
	tests := []struct {
		name, code string
		ranks      []int
		stdout     []string // in any order
		kind       cellio.Kind
		value      string
	}{
		{"all", "print hi\nset A", nil, []string{"[rank 0] hi", "[rank 1] hi", "[rank 2] hi"}, "", ""},
		{"state kept", "get", nil, []string{"[rank 0] A", "[rank 1] A", "[rank 2] A"}, "", ""},
		{"subset", "set B\nget", []int{0, 2}, []string{"[rank 0] B", "[rank 2] B"}, "", ""},
		{"others kept theirs", "get", []int{1}, []string{"[rank 1] A"}, "", ""},
		{"partial lines", "partial x\npartial y", []int{1}, []string{"[rank 1] xy"}, "", ""},
		{"declarations replayed", "decls", nil, []string{"[rank 0] 2", "[rank 1] 2", "[rank 2] 2"}, "", ""},
		{"a failing rank", "print before\nfail 1\nset C", nil, []string{"[rank 0] before", "[rank 1] before", "[rank 2] before"}, cellio.RankError, "rank 1 failed: panic: boom on 1"},
		{"state kept after a failure", "get", nil, []string{"[rank 0] C", "[rank 1] A", "[rank 2] C"}, "", ""},
		{"no such rank", "get", []int{5}, nil, cellio.UsageError, "--ranks: there is no rank 5 (ranks 0-2 run)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _, err := run(t, ctx, p, tt.code, tt.ranks, "")
			if kindOf(err) != tt.kind || (tt.value != "" && !strings.HasPrefix(err.(*cellio.Error).Value, tt.value)) {
				t.Fatalf("error %v, want %s %q", err, tt.kind, tt.value)
			}
			got := lines(rec.Text("stdout"))
			if strings.Join(got, "|") != strings.Join(sorted(tt.stdout), "|") {
				t.Errorf("stdout %q, want %q", got, tt.stdout)
			}
		})
	}
	decls = append(decls, goeval.Decl{Kind: "var", Name: "v", Src: "var v = 2"})
	if rec, _, err := run(t, ctx, p, "decls", []int{0}, ""); err != nil || rec.Text("stdout") != "[rank 0] 3\n" {
		t.Errorf("new declarations: %v %q", err, rec.Text("stdout"))
	}
	if info := p.Ranks(); info[0].Cells != 7 || info[1].State != Idle {
		t.Errorf("Ranks() = %+v", info)
	}
}

// lines are the lines of s, sorted (ranks write in any order).
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return sorted(strings.Split(strings.TrimSuffix(s, "\n"), "\n"))
}

func sorted(l []string) []string {
	out := append([]string(nil), l...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// cancelled runs code and interrupts it once every rank printed "go".
func cancelled(t *testing.T, p *Pool, code string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := celliotest.New()
	started := make(chan struct{})
	count := 0
	rec.OnStream(func(_, text string) {
		count += strings.Count(text, "go\n")
		if count == p.N() {
			close(started)
		}
	})
	errc := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, Cell{Code: "print go\n" + code}, rec)
		errc <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the ranks did not start the cell")
	}
	cancel()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the interrupted cell did not end")
	}
	return nil
}

func TestInterrupt(t *testing.T) {
	p := start(t, fakeConfig(t), fakeSpec(t, 3))
	ctx := context.Background()
	if _, _, err := run(t, ctx, p, "set S", nil, ""); err != nil {
		t.Fatal(err)
	}
	err := cancelled(t, p, "hang")
	if kindOf(err) != cellio.Interrupted || strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("interrupt: %v", err)
	}
	if rec, _, err := run(t, ctx, p, "get", nil, ""); err != nil || len(lines(rec.Text("stdout"))) != 3 {
		t.Fatalf("after the interrupt: %v %q", err, rec.Text("stdout"))
	}
	err = cancelled(t, p, "stuck 1\nhang")
	if kindOf(err) != cellio.Interrupted || !strings.Contains(err.Error(), "rank 1 did not stop") {
		t.Fatalf("interrupt with a stuck rank: %v", err)
	}
	if _, _, err := run(t, ctx, p, "get", nil, ""); kindOf(err) != cellio.RankError || !strings.Contains(err.Error(), "rank 1 still run") {
		t.Fatalf("a cell on a stuck rank: %v", err)
	}
	if rec, _, err := run(t, ctx, p, "get", []int{0, 2}, ""); err != nil || len(lines(rec.Text("stdout"))) != 2 {
		t.Fatalf("the other ranks: %v %q", err, rec.Text("stdout"))
	}
	if p.Ranks()[1].State != Stuck {
		t.Errorf("rank 1: %+v", p.Ranks()[1])
	}
}

func TestRankDies(t *testing.T) {
	p := start(t, fakeConfig(t), fakeSpec(t, 3))
	ctx := context.Background()
	_, _, err := run(t, ctx, p, "print x\ndie 2", nil, "")
	if kindOf(err) != cellio.RankError || !strings.HasPrefix(err.(*cellio.Error).Value, "rank 2 died during the cell") {
		t.Fatalf("a rank that dies: %v", err)
	}
	if _, _, err := run(t, ctx, p, "get", []int{0}, ""); kindOf(err) != cellio.RankError || !strings.HasPrefix(err.(*cellio.Error).Value, "rank 2 died") {
		t.Fatalf("the next cell: %v", err)
	}
	if info := p.Ranks()[2]; info.State != Lost || info.Why == "" {
		t.Errorf("rank 2: %+v", info)
	}
}

func TestRankDiesBetweenCellsIsToldAtOnce(t *testing.T) {
	p := start(t, fakeConfig(t), fakeSpec(t, 2))
	told := make(chan string, 1)
	rec := celliotest.New()
	rec.OnStream(func(name, text string) {
		if strings.Contains(text, "died at") {
			told <- name + ": " + text
		}
	})
	if _, err := p.Run(context.Background(), Cell{Count: 1, Code: "dieafter 1"}, rec); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-told:
		if !strings.HasPrefix(msg, "stderr: %ranks: rank 1 died at ") || !strings.Contains(msg, "%ranks restart") {
			t.Errorf("told %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the loss of rank 1 after its cell was not told")
	}
}

func TestOut(t *testing.T) {
	cfg := fakeConfig(t)
	var gotName string
	var gotVals []goeval.CarriedVar
	var gotJSON []json.RawMessage
	cfg.SetOut = func(_ context.Context, name string, vals []goeval.CarriedVar, jsons []json.RawMessage) error {
		gotName, gotVals, gotJSON = name, vals, jsons
		return nil
	}
	p := start(t, cfg, fakeSpec(t, 3))
	_, res, err := run(t, context.Background(), p, "value", nil, "xs")
	if err != nil {
		t.Fatal(err)
	}
	if gotName != "xs" || len(gotVals) != 3 || string(gotJSON[0])+string(gotJSON[1])+string(gotJSON[2]) != "01020" {
		t.Fatalf("SetOut(%q, %v, %s)", gotName, gotVals, gotJSON)
	}
	for i, v := range gotVals {
		if v.Name != "xs" || v.Value[0] != byte(i) {
			t.Errorf("value %d: %+v", i, v)
		}
	}
	if res.Data["text/plain"] != "[rank 0] 0\n[rank 1] 10\n[rank 2] 20" {
		t.Errorf("result %v", res.Data)
	}
	if _, _, err := run(t, context.Background(), p, "print no value", nil, "ys"); kindOf(err) != cellio.UsageError {
		t.Errorf("--out without a value: %v", err)
	}
	// A subset: still indexed by rank, the others null.
	if _, _, err := run(t, context.Background(), p, "value", []int{1}, "zs"); err != nil {
		t.Fatal(err)
	}
	if len(gotVals) != 3 || string(gotJSON[0]) != "null" || string(gotJSON[1]) != "10" || string(gotJSON[2]) != "null" || gotVals[0].Type != gotVals[1].Type {
		t.Fatalf("--ranks 1 --out zs: SetOut(%v, %s)", gotVals, gotJSON)
	}
}

func TestHellos(t *testing.T) {
	p := newPool(fakeConfig(t), fakeSpec(t, 2))
	p.helloTimeout = 200 * time.Millisecond
	var err error
	if p.ln, err = launch.Listen(false); err != nil {
		t.Fatal(err)
	}
	go p.accept()
	defer p.Close()
	addr := p.ln.Addr().String()
	hello := func(token string, rank, size int) string {
		b, _ := json.Marshal(pxwire.Hello{Token: token, Rank: rank, Size: size})
		return string(b) + "\n"
	}
	tests := []struct {
		name, send string
		accepted   bool
	}{
		{"wrong token", hello("nope", 0, 2), false},
		{"oversized hello", strings.Repeat("x", pxwire.MaxHello+10), false},
		{"no newline, too late", hello(p.token, 0, 2)[:20], false},
		{"wrong size", hello(p.token, 0, 3), false},
		{"no such rank", hello(p.token, 2, 2), false},
		{"rank 0", hello(p.token, 0, 2), true},
		{"rank 0 again", hello(p.token, 0, 2), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.connected()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = conn.Write([]byte(tt.send))
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, rerr := conn.Read(make([]byte, 1))
			var ne net.Error
			closed := !(errors.As(rerr, &ne) && ne.Timeout())
			if closed == tt.accepted || p.connected()-before != map[bool]int{true: 1}[tt.accepted] {
				t.Errorf("closed %v (%v), connected %d → %d", closed, rerr, before, p.connected())
			}
		})
	}
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(*Config)
		spec  func(*Spec)
		kind  cellio.Kind
		value string
	}{
		{"build fails", func(c *Config) {
			c.Build = func(context.Context, func(string)) ([]string, error) { return nil, errors.New("no cgo") }
		}, func(*Spec) {}, cellio.BuildError, "building the rank interpreter: no cgo"},
		{"the launcher exits", func(*Config) {}, func(s *Spec) { s.Launcher.Path = "/bin/false" }, cellio.LaunchError, "the ranks did not start: the launcher exited"},
		{"no hello in time", func(c *Config) { c.StartTimeout = 500 * time.Millisecond }, func(s *Spec) { s.Req.Env = []string{"PXTEST_HELLO=nohello"} },
			cellio.LaunchError, "the ranks did not start: only 0 of 2 ranks connected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, spec := fakeConfig(t), fakeSpec(t, 2)
			tt.cfg(&cfg)
			tt.spec(&spec)
			p, err := Start(context.Background(), cfg, spec, celliotest.New())
			if p != nil || kindOf(err) != tt.kind || !strings.HasPrefix(err.(*cellio.Error).Value, tt.value) {
				t.Fatalf("Start = %v, %v; want %s %q", p, err, tt.kind, tt.value)
			}
		})
	}
}

func TestCloseStopsEverything(t *testing.T) {
	p := start(t, fakeConfig(t), fakeSpec(t, 4))
	pids := p.pids()
	if err := cancelled(t, p, "stuck *"); kindOf(err) != cellio.Interrupted {
		t.Fatalf("interrupt: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	checkGone(t, pids)
	if _, _, err := run(t, context.Background(), p, "get", nil, ""); kindOf(err) != cellio.UsageError {
		t.Errorf("a cell after Close: %v", err)
	}
}

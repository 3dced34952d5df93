package mpimagic

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/gomod/gomodtest"
)

// moduleMagic is a Magic whose cells, builds and module session see only
// the test proxy (and extra variables); it returns the magic and its
// session.
func moduleMagic(t *testing.T, exe string, decls []goeval.Decl, extra ...string) (*Magic, *gomod.Session) {
	t.Helper()
	env := append(append(testEnviron(), gomodtest.Proxy(t, gomodtest.Greet...)...), extra...)
	environ := func() []string { return env }
	s, err := gomod.Open(gomod.Env{Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m := New(Config{Environ: environ, Exe: exe, Decls: func() []goeval.Decl { return decls }, Sources: mpigo.Sources, CacheDir: t.TempDir(), Modules: s})
	t.Cleanup(func() { m.Close() })
	return m, s
}

// rankLines are a cell's stdout lines, sorted.
func rankLines(rec *celliotest.Recorder) string {
	got := strings.Split(strings.TrimSpace(rec.Text("stdout")), "\n")
	sort.Strings(got)
	return strings.Join(got, "|")
}

// progressSays reports whether a display of the cell (its progress line)
// holds s.
func progressSays(rec *celliotest.Recorder, s string) bool {
	for _, d := range rec.Displays() {
		if text, _ := d.Data["text/plain"].(string); strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// TestCellImportsModules runs cells that import a made-up module's package:
// the session requires its latest version, and a version chosen with the
// session (go get) rebuilds the next run.
func TestCellImportsModules(t *testing.T) {
	exe := needBuilds(t)
	m, s := moduleMagic(t, exe, nil)
	ctx := context.Background()
	body := "import \"example.com/greet\"\nfmt.Println(greet.Hello())"
	for _, step := range []struct {
		name, get, want string
		cached          bool
	}{
		{"latest", "", "[rank 0] hello v1.1|[rank 1] hello v1.1", false},
		{"unchanged: cached", "", "[rank 0] hello v1.1|[rank 1] hello v1.1", true},
		{"older version: rebuilt", "example.com/greet@v1.0.0", "[rank 0] hello v1|[rank 1] hello v1", false},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.get != "" {
				if _, err := s.Get(ctx, step.get); err != nil {
					t.Fatal(err)
				}
			}
			rec := celliotest.New()
			if _, err := m.Cell(ctx, 2, []string{"-n", "2"}, body, rec); err != nil {
				t.Fatalf("%v\nstdout %q", err, rec.Text("stdout"))
			}
			if got := rankLines(rec); got != step.want {
				t.Errorf("stdout %q, want %q", got, step.want)
			}
			if progressSays(rec, "build cached") != step.cached {
				t.Errorf("build cached = %v, want %v", !step.cached, step.cached)
			}
		})
	}
}

// TestCellImportErrors checks that an import no module provides fails the
// cell with a ImportError at the line of the import, and that the session
// keeps what it had: the next cell runs.
func TestCellImportErrors(t *testing.T) {
	exe := needBuilds(t)
	decls := []goeval.Decl{
		{Kind: "import", Name: "missing", Src: `import "example.com/missing"`, Cell: 4, Line: 2},
		{Kind: "func", Name: "useMissing", Src: "func useMissing() { missing.Do() }", Cell: 4, Line: 3},
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		env   []string
		body  string
		value string // the error's value
		says  []string
	}{
		{"unknown module", nil, "fmt.Println(1)\nimport \"example.com/nothing/pkg\"\npkg.Do()",
			"cell[7]:3: cannot import example.com/nothing/pkg", []string{"no module provides", "tried: go"}},
		{"offline", []string{"GOPROXY=off"}, "import (\n\t\"fmt\"\n\t\"example.com/greet\"\n)\nfmt.Println(greet.Hello())",
			"cell[7]:4: cannot import example.com/greet", []string{"cannot download example.com/greet", "GOPROXY=off", "to make it available"}},
		{"in an earlier cell's declaration", nil, "useMissing()",
			"cell[4]:2: cannot import example.com/missing", []string{"no module provides"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, s := moduleMagic(t, exe, decls, tt.env...)
			if _, err := s.Get(ctx, "./"+relDir(t, localGreet(t))); err != nil {
				t.Fatal(err)
			}
			before, _ := s.Snapshot()
			rec := celliotest.New()
			_, err := m.Cell(ctx, 7, []string{"-n", "1"}, tt.body, rec)
			var werr *cellio.Error
			if !errors.As(err, &werr) || werr.Name != cellio.ImportError || werr.Value != tt.value {
				t.Fatalf("error %#v, want an ImportError %q", err, tt.value)
			}
			tb := strings.Join(werr.Traceback, "\n")
			for _, s := range tt.says {
				if !strings.Contains(tb, s) {
					t.Errorf("traceback lacks %q:\n%s", s, tb)
				}
			}
			if after, _ := s.Snapshot(); after.Key != before.Key {
				t.Errorf("the session changed:\n%s\nthen\n%s", before.GoMod, after.GoMod)
			}
			rec = celliotest.New()
			if _, err := m.Cell(ctx, 8, []string{"-n", "1"}, "import \"example.com/local\"\nfmt.Println(local.Name())", rec); err != nil {
				t.Fatalf("the next cell: %v", err)
			}
			if got := rankLines(rec); got != "[rank 0] local v1" {
				t.Errorf("the next cell's stdout %q", got)
			}
		})
	}
}

// TestCellImportWithoutSession: a Magic without a module session refuses
// imports of modules' packages, at their line.
func TestCellImportWithoutSession(t *testing.T) {
	exe := needBuilds(t)
	m := New(Config{Environ: testEnviron, Exe: exe, Sources: mpigo.Sources, CacheDir: t.TempDir()})
	defer m.Close()
	_, err := m.Cell(context.Background(), 3, []string{"-n", "1"}, "import \"example.com/greet\"\nfmt.Println(greet.Hello())", celliotest.New())
	var werr *cellio.Error
	if !errors.As(err, &werr) || werr.Name != cellio.ImportError || werr.Value != "cell[3]:2: cannot import example.com/greet" ||
		!strings.Contains(strings.Join(werr.Traceback, "\n"), "module session") {
		t.Fatalf("error %#v", err)
	}
}

// TestLocalModuleEditRebuilds: a local module (%go get ./dir) is built
// from its directory, and an edit of one of its files rebuilds the cell.
func TestLocalModuleEditRebuilds(t *testing.T) {
	exe := needBuilds(t)
	m, s := moduleMagic(t, exe, nil)
	ctx := context.Background()
	dir := localGreet(t)
	if _, err := s.Get(ctx, dir); err != nil {
		t.Fatal(err)
	}
	body := "import \"example.com/local\"\nfmt.Println(local.Name())"
	run := func(want string) {
		t.Helper()
		rec := celliotest.New()
		if _, err := m.Cell(ctx, 2, []string{"-n", "1"}, body, rec); err != nil {
			t.Fatal(err)
		}
		if got := rankLines(rec); got != want {
			t.Errorf("stdout %q, want %q", got, want)
		}
	}
	run("[rank 0] local v1")
	writeFile(t, filepath.Join(dir, "local.go"), "package local\n\n// Name names it.\nfunc Name() string { return \"local v2, edited\" }\n")
	run("[rank 0] local v2, edited")
}

// localGreet writes a local module, example.com/local, and returns its
// directory.
func localGreet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/local\n\ngo 1.24\n")
	writeFile(t, filepath.Join(dir, "local.go"), "package local\n\n// Name names it.\nfunc Name() string { return \"local v1\" }\n")
	return dir
}

// relDir is dir relative to the working directory, as a user types it.
func relDir(t *testing.T, dir string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goIn runs the go command in dir with env and returns its output.
func goIn(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestExportModules exports cells that import modules' packages: go.mod
// requires the session's versions, go.sum holds their sums, and the
// export resolves every package offline, from the module cache or (with
// --vendor) from vendor/ alone.
func TestExportModules(t *testing.T) {
	exe := needBuilds(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		flags   []string
		body    string
		goMod   []string // what go.mod holds
		files   []string // files the export has
		offline []string // the environment of the offline check, on top of the test's
	}{
		{"module cache", nil, "import \"example.com/greet\"\nfmt.Println(greet.Hello())",
			[]string{"\nrequire (", "example.com/greet v1.1.0", "github.com/mpigo/mpigo v0.0.0", "replace github.com/mpigo/mpigo => ./mpigo"},
			[]string{"go.sum"}, []string{"GOPROXY=off", "GOFLAGS=-mod=readonly"}},
		{"vendor", []string{"--vendor"}, "import \"example.com/greet\"\nfmt.Println(greet.Hello())",
			[]string{"example.com/greet v1.1.0"},
			[]string{"go.sum", "vendor/modules.txt", "vendor/example.com/greet/greet.go", "vendor/github.com/mpigo/mpigo/mpi/mpi.go"},
			[]string{"GOPROXY=off", "GOFLAGS=-mod=vendor", "GOMODCACHE=" + t.TempDir()}},
		{"local module", nil, "import \"example.com/local\"\nfmt.Println(local.Name())",
			[]string{"Local modules are used from their directories", "example.com/local => /", "replace example.com/local => /"},
			nil, []string{"GOPROXY=off", "GOFLAGS=-mod=readonly"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, s := moduleMagic(t, exe, nil)
			if _, err := s.Get(ctx, localGreet(t)); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "job")
			rec := celliotest.New()
			args := append([]string{"-n", "2", "--export", dir}, tt.flags...)
			if _, err := m.Cell(ctx, 5, args, tt.body, rec); err != nil {
				t.Fatalf("%v\n%s", err, rec.Text("stdout"))
			}
			mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
			for _, want := range tt.goMod {
				if !strings.Contains(string(mod), want) {
					t.Errorf("go.mod lacks %q:\n%s", want, mod)
				}
			}
			for _, f := range tt.files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			if sum, err := os.ReadFile(filepath.Join(dir, "go.sum")); err == nil && !strings.Contains(string(sum), "example.com/greet v1.1.0 h1:") {
				t.Errorf("go.sum:\n%s", sum)
			}
			env := append(m.cfg.Environ(), tt.offline...)
			if out, err := goIn(t, dir, env, "list", "-deps", "."); err != nil {
				t.Errorf("go list -deps in the export with %v: %v\n%s", tt.offline, err, out)
			}
		})
	}
}

// TestRunCommandImports: `mpigo run FILE.go` resolves the file's imports
// through the session, and names the file's line of one it cannot get.
func TestRunCommandImports(t *testing.T) {
	exe := needBuilds(t)
	m, _ := moduleMagic(t, exe, nil)
	dir := t.TempDir()
	for _, tt := range []struct {
		name, imp, call string
		status          int
		stdout, stderr  string
	}{
		{"a module's package", "example.com/greet", "greet.Hello()", 0, "[rank 0] hello v1.1\n", ""},
		{"no such module", "example.com/nothing/pkg", "pkg.Hello()", 1, "", "prog.go:6: cannot import example.com/nothing/pkg: no module provides"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prog := filepath.Join(dir, "prog.go")
			writeFile(t, prog, "package main\n\nimport (\n\t\"fmt\"\n\n\t\""+tt.imp+"\"\n\t\"github.com/mpigo/mpigo/mpi\"\n)\n\n"+
				"func main() {\n\tmpi.Init()\n\tdefer mpi.Finalize()\n\tfmt.Println("+tt.call+")\n}\n")
			var stdout, stderr strings.Builder
			status := m.RunCommand(context.Background(), []string{"-n", "1", prog}, &stdout, &stderr)
			if status != tt.status || stdout.String() != tt.stdout || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("status %d, stdout %q, stderr %q; want %d, %q, %q", status, stdout.String(), stderr.String(), tt.status, tt.stdout, tt.stderr)
			}
		})
	}
}

package mpimagic

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/program"
)

func TestSbatchLines(t *testing.T) {
	t.Setenv("SLURM_NTASKS", "")
	base := []string{"#SBATCH --job-name=job", "#SBATCH --ntasks=4"}
	out := "#SBATCH --output=%x-%j.out"
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-n", "4"}, append(base, "#SBATCH --time="+defaultJobTime, out)},
		{[]string{"-n", "4", "--timeout", "90s"}, append(base, "#SBATCH --time=00:07:00", out)},
		{[]string{"-n", "4", "--timeout", "2h"}, append(base, "#SBATCH --time=02:05:00", out)},
		{[]string{"-n", "4", "--timeout", "2h", "-t", "30"}, append(base, "#SBATCH --time=30", out)},
		{[]string{"-n", "4", "-p", "debug", "-N", "2", "--account", "proj", "-t", "1-00:00:00"},
			append(base, "#SBATCH --time=1-00:00:00", out, "#SBATCH --partition=debug", "#SBATCH --nodes=2", "#SBATCH --account=proj")},
	}
	for _, tt := range tests {
		o, err := Parse(append([]string{"--export", "job"}, tt.args...), ModeMagic, environ.Env{})
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.args, err)
		}
		got := sbatchLines(jobSpec{opts: o, name: "job", cellName: "cell[1]", dirArg: "job"})
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %q\nwant %q", tt.args, got, tt.want)
		}
	}
}

func TestJobScript(t *testing.T) {
	t.Setenv("SLURM_NTASKS", "")
	tests := []struct {
		args []string
		has  []string
	}{
		{[]string{"-n", "2"}, []string{"NTASKS=2\n", "TIMEOUT=0\n", "LAUNCHER=auto\nMPIEXEC=${MPIEXEC:-mpiexec}\n", "LAUNCHER_ARGS=()\n", "PROGRAM_ENV=()\n",
			"# Submit it:          cd 'my job' && sbatch job.sh\n", "# Or run it anywhere: bash 'my job'/job.sh\n", "#   %mpirun -n 2 --export 'my job'\n"}},
		{[]string{"-n", "3", "--timeout", "1.5", "--launcher", "srun", "--env", "A=x y", "--env", "B=it's", "--", "--mpi=pmix", "--cpu-bind=cores"},
			[]string{"TIMEOUT=2\n", "LAUNCHER=srun\n", "PROGRAM_ENV=(A B)\nexport A='x y'\nexport B='it'\\''s'\n", "LAUNCHER_ARGS=(--mpi=pmix --cpu-bind=cores)\n"}},
		{[]string{"-n", "2", "--launcher", "mpirun.mpich", "--hosts", "a:2,b:2"}, []string{"LAUNCHER=mpirun\nMPIEXEC=${MPIEXEC:-mpirun.mpich}\n", "HOSTS=a:2,b:2\n"}},
		{[]string{"-n", "2", "--launcher", "mpirun", "--hostfile", "/etc/hosts file"}, []string{"LAUNCHER=mpirun\nMPIEXEC=${MPIEXEC:-mpirun}\n", "HOSTFILE='/etc/hosts file'\n"}},
	}
	for _, tt := range tests {
		o, err := Parse(append([]string{"--export", "my job"}, tt.args...), ModeMagic, environ.Env{})
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.args, err)
		}
		script := jobScript(jobSpec{opts: o, name: "my_job", cellName: "cell[5]", dirArg: "my job"})
		if !strings.HasPrefix(script, "#!/bin/bash\n#SBATCH --job-name=my_job\n") {
			t.Errorf("%q: script starts %q", tt.args, script[:60])
		}
		for _, s := range tt.has {
			if !strings.Contains(script, s) {
				t.Errorf("%q: job.sh lacks %q:\n%s", tt.args, s, script)
			}
		}
		p := filepath.Join(t.TempDir(), "job.sh")
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%q: bash -n job.sh: %v\n%s", tt.args, err, out)
		}
		if _, err := exec.LookPath("shellcheck"); err == nil {
			if out, err := exec.Command("shellcheck", p).CombinedOutput(); err != nil {
				t.Errorf("%q: shellcheck job.sh: %v\n%s", tt.args, err, out)
			}
		}
	}
}

func TestJobAndModuleNames(t *testing.T) {
	for dir, want := range map[string][2]string{
		"/x/hello":        {"hello", "hello"},
		"/x/My Job (2)":   {"My_Job__2_", "my_job__2"},
		"/x/.hidden":      {"hidden", "hidden"},
		"/x/héllo":        {"h_llo", "h_llo"},
		"/":               {progName, progName},
		"/x/run-1.2":      {"run-1.2", "run-1.2"},
		"/x/---":          {progName, progName},
		"/x/2024_results": {"2024_results", "2024_results"},
	} {
		job := jobName(dir)
		if job != want[0] || moduleName(job) != want[1] {
			t.Errorf("jobName(%q) = %q, moduleName %q; want %q", dir, job, moduleName(job), want)
		}
	}
	mod := goMod("hello", "1.26")
	for _, s := range []string{"\nmodule hello\n", "\ngo 1.26\n", "\nrequire github.com/mpigo/mpigo v0.0.0\n", "\nreplace github.com/mpigo/mpigo => ./mpigo\n"} {
		if !strings.Contains(mod, s) {
			t.Errorf("go.mod lacks %q:\n%s", s, mod)
		}
	}
}

// TestExportWithoutMPI exports where no program can be built: the files
// are written all the same, and the output says that they were not
// compiled.
func TestExportWithoutMPI(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no mpirun, no go
	t.Setenv("MPIGO_MPIRUN", "")
	m := New(Config{Environ: testEnviron, Exe: "/nonexistent", Sources: mpigo.Sources, CacheDir: t.TempDir()})
	defer m.Close()
	dir := filepath.Join(t.TempDir(), "job")
	rec := celliotest.New()
	if _, err := m.Cell(context.Background(), 2, []string{"-n", "3", "--export", dir}, "fmt.Println(mpi.World.Rank())", rec); err != nil {
		t.Fatal(err)
	}
	if s := rec.Text("stdout"); !strings.Contains(s, "Not compiled here (no mpirun found on PATH") || strings.Contains(s, "compiles here") {
		t.Errorf("output:\n%s", s)
	}
	for _, f := range []string{"main.go", "go.mod", "job.sh", "README.md", manifestName, "mpigo/go.mod", "mpigo/mpi/mpi.go", "mpigo/display/display.go"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	// not compiled, so not tidied: the program as generated
	if b, _ := os.ReadFile(filepath.Join(dir, "main.go")); !strings.Contains(string(b), program.MPIAlias+".Init()") || strings.Contains(string(b), "//line") {
		t.Errorf("main.go:\n%s", b)
	}
}

// exportSet is a small export for the overwrite tests.
func exportSet(mainGo string) []exportFile {
	return []exportFile{
		{rel: "main.go", data: []byte(mainGo), mode: 0o644},
		{rel: "job.sh", data: []byte("#!/bin/bash\n"), mode: 0o755},
		{rel: "mpigo/mpi/mpi.go", data: []byte("package mpi\n"), mode: 0o644},
	}
}

func TestWriteExport(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "job")
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// a new directory, parents included
	res, err := writeExport(dir, exportSet("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.written) != 3 || read("main.go") != "v1" {
		t.Fatalf("first export: %+v", res)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "job.sh")); fi.Mode().Perm() != 0o755 {
		t.Errorf("job.sh mode %v", fi.Mode())
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("directory mode %v", fi.Mode())
	}
	if m := read(manifestName); !strings.Contains(m, hashOf([]byte("v1"))+"  main.go\n") || !strings.Contains(m, "  mpigo/mpi/mpi.go\n") {
		t.Errorf("manifest:\n%s", m)
	}

	// the same again: nothing written
	if res, err = writeExport(dir, exportSet("v1")); err != nil || len(res.written) != 0 || len(res.unchanged) != 3 {
		t.Fatalf("same export: %+v %v", res, err)
	}

	// a new version replaces the files of the last export; a file it no
	// longer has is removed, with its empty directory; others stay
	os.WriteFile(filepath.Join(dir, "prog"), []byte("binary"), 0o755)
	os.WriteFile(filepath.Join(dir, "job-12.out"), []byte("output"), 0o644)
	v2 := exportSet("v2")[:2]
	if res, err = writeExport(dir, v2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.written, []string{"main.go"}) || !reflect.DeepEqual(res.removed, []string{"mpigo/mpi/mpi.go"}) || read("main.go") != "v2" {
		t.Errorf("second export: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "mpigo")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mpigo/ left behind: %v", err)
	}
	if read("prog") != "binary" || read("job-12.out") != "output" {
		t.Error("files the export does not own were touched")
	}

	// a file edited since the export is not overwritten, and nothing is
	// written
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("edited"), 0o644)
	_, err = writeExport(dir, exportSet("v3"))
	if err == nil || !strings.Contains(err.Error(), "main.go (changed since the last export)") || !strings.Contains(err.Error(), "export to another directory") {
		t.Errorf("edited main.go: %v", err)
	}
	if read("main.go") != "edited" {
		t.Error("edited main.go overwritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "mpigo")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused export wrote files")
	}

	// a directory that holds someone else's files
	other := filepath.Join(root, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "job.sh"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("notes"), 0o644)
	_, err = writeExport(other, exportSet("v1"))
	if err == nil || !strings.Contains(err.Error(), "job.sh (not written by mpigo)") {
		t.Errorf("foreign job.sh: %v", err)
	}
	// ...unless it already holds what the export writes (an export cut short)
	os.WriteFile(filepath.Join(other, "job.sh"), []byte("#!/bin/bash\n"), 0o755)
	if _, err = writeExport(other, exportSet("v1")); err != nil {
		t.Errorf("job.sh as the export writes it: %v", err)
	}

	// links are never followed
	linked := filepath.Join(root, "linked")
	os.MkdirAll(linked, 0o755)
	target := filepath.Join(root, "target.go")
	os.WriteFile(target, []byte("precious"), 0o644)
	os.Symlink(target, filepath.Join(linked, "main.go"))
	os.Symlink(root, filepath.Join(linked, "mpigo"))
	_, err = writeExport(linked, exportSet("v1"))
	if err == nil || !strings.Contains(err.Error(), "main.go (a symbolic link)") || !strings.Contains(err.Error(), "mpigo/mpi/mpi.go (a symbolic link)") {
		t.Errorf("links: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Error("wrote through a link")
	}

	// DIR is a file, or under one
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err = writeExport(file, exportSet("v1")); err == nil || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Errorf("DIR a file: %v", err)
	}
	if _, err = writeExport(filepath.Join(file, "sub"), exportSet("v1")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("DIR under a file: %v", err)
	}

	// a directory one may not write to
	if os.Geteuid() != 0 {
		ro := filepath.Join(root, "ro")
		os.MkdirAll(ro, 0o555)
		if _, err = writeExport(filepath.Join(ro, "job"), exportSet("v1")); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("read-only parent: %v", err)
		}
	}
}

// TestExportWithMPI exports cells through the magic, then builds and runs
// the export as a user would, with its job.sh (offline, moved to another
// directory), and with `mpigo run DIR`. It needs Go and an MPI; it is
// skipped without them. (test/e2e/test_export.py builds one by hand and
// runs it with mpirun.)
func TestExportWithMPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches MPI programs")
	}
	for _, tool := range []string{"mpirun", "go", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	t.Setenv("SLURM_JOB_ID", "") // job.sh must use mpiexec here
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	decls := []goeval.Decl{
		{Kind: "func", Name: "twice", Src: "// twice doubles x.\nfunc twice(x int) int { return 2 * x }", Cell: 1, Line: 1},
		{Kind: "func", Name: "unrelated", Src: "func unrelated() int { return sessionVar }", Cell: 2, Line: 1},
	}
	m := New(Config{Environ: testEnviron, Exe: exe, Decls: func() []goeval.Decl { return decls }, Sources: mpigo.Sources, CacheDir: t.TempDir()})
	defer m.Close()
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "hello")
	// the variables exercise the tidy `_ = x` marks: those it leaves out
	// must be right, or the export would fall back to marking them all
	body := `type T struct{ n int }
r := mpi.World.Rank()
unread := 1
n := 2
n++
_ = T{n: 3}
fmt.Printf("%s from %d of %d: %d\n", os.Getenv("GREETING"), r, mpi.World.Size(), twice(r))`

	rec := celliotest.New()
	_, err = m.Cell(ctx, 7, []string{"-n", "2", "--export", dir, "--env", "GREETING=hello there", "--timeout", "2m"}, body, rec)
	if err != nil {
		t.Fatalf("%v\nstdout %q", err, rec.Text("stdout"))
	}
	report := rec.Text("stdout")
	for _, s := range []string{"Exported cell[7] to " + dir, "func twice (cell[1])", "main.go", "compiles here with", "cd " + dir + " && sbatch job.sh", "bash " + dir + "/job.sh"} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
	if strings.Contains(report, "[rank") {
		t.Errorf("the export ran the cell:\n%s", report)
	}
	mainGo, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	for _, s := range []string{"// From cell[1]:\n// twice doubles x.\nfunc twice", "\tmpi.Init()\n", "_ = unread\n", "_ = n\n"} {
		if !strings.Contains(string(mainGo), s) {
			t.Errorf("main.go lacks %q (the tidy version did not compile?):\n%s", s, mainGo)
		}
	}
	if strings.Contains(string(mainGo), "unrelated") || strings.Contains(string(mainGo), "_ = r\n") {
		t.Errorf("main.go:\n%s", mainGo)
	}

	// Moved elsewhere, built offline (GOPROXY=off; -mod=readonly: go.mod
	// needs no update, and no go.sum) and run by its job.sh, started from
	// another directory, outside any allocation (testEnviron: inside one,
	// job.sh's mpiexec would start its ranks on the allocation's nodes).
	moved := filepath.Join(root, "moved")
	if out, err := exec.Command("cp", "-r", dir, moved).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	modBefore, _ := os.ReadFile(filepath.Join(moved, "go.mod"))
	job := exec.Command("bash", filepath.Join(moved, "job.sh"))
	job.Dir = root
	job.Env = append(environ.New(testEnviron()...).Child(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	var stdout, stderr strings.Builder
	job.Stdout, job.Stderr = &stdout, &stderr
	if err := job.Run(); err != nil {
		t.Fatalf("bash job.sh: %v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
	}
	if got := sortedLines(stdout.String()); got != "hello there from 0 of 2: 0|hello there from 1 of 2: 2" {
		t.Errorf("bash job.sh: stdout %q\nstderr %s", stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "job.sh: running: timeout --kill-after=10 120 mpiexec -n 2") {
		t.Errorf("bash job.sh: stderr %s", stderr.String())
	}
	if modAfter, _ := os.ReadFile(filepath.Join(moved, "go.mod")); string(modAfter) != string(modBefore) {
		t.Errorf("go build changed go.mod:\n%s", modAfter)
	}
	if _, err := os.Stat(filepath.Join(moved, "go.sum")); err == nil {
		t.Error("go build needed a go.sum")
	}

	// mpigo run DIR builds it as a module
	var rout, rerr strings.Builder
	if code := m.RunCommand(ctx, []string{"-n", "2", "--env", "GREETING=run", dir}, &rout, &rerr); code != 0 {
		t.Fatalf("mpigo run: exit %d\n%s\n%s", code, rout.String(), rerr.String())
	}
	if got := sortedLines(rout.String()); got != "[rank 0] run from 0 of 2: 0|[rank 1] run from 1 of 2: 2" {
		t.Errorf("mpigo run: %q", rout.String())
	}

	// Exported again: nothing to write; the job's output is left alone.
	os.WriteFile(filepath.Join(dir, "hello-1.out"), []byte("out"), 0o644)
	rec = celliotest.New()
	if _, err := m.Cell(ctx, 7, []string{"-n", "2", "--export", dir, "--env", "GREETING=hello there", "--timeout", "2m"}, body, rec); err != nil {
		t.Fatalf("export again: %v", err)
	}
	if !strings.Contains(rec.Text("stdout"), "every file already held this export") {
		t.Errorf("export again:\n%s", rec.Text("stdout"))
	}
	if _, err := os.Stat(filepath.Join(dir, "hello-1.out")); err != nil {
		t.Errorf("hello-1.out: %v", err)
	}

	// A cell that does not compile writes nothing, and its error names
	// the cell's line.
	bad := filepath.Join(root, "bad")
	_, err = m.Cell(ctx, 9, []string{"-n", "2", "--export", bad}, "x := 1\ny := undefinedThing + x", celliotest.New())
	var werr *cellio.Error
	if !errors.As(err, &werr) || werr.Name != cellio.CompileError || !strings.Contains(werr.Value, "cell[9]:3") {
		t.Errorf("bad cell: %#v", err)
	}
	if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a cell that does not compile was exported: %v", err)
	}

	// An edited export is not overwritten.
	os.WriteFile(filepath.Join(dir, "job.sh"), []byte("#!/bin/bash\n# mine\n"), 0o755)
	_, err = m.Cell(ctx, 10, []string{"-n", "2", "--export", dir}, body, celliotest.New())
	if !errors.As(err, &werr) || werr.Name != cellio.ExportError || !strings.Contains(werr.Value, "job.sh (changed since the last export)") {
		t.Errorf("edited job.sh: %#v", err)
	}
}

// sortedLines is s's lines sorted, joined with "|".
func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "|")
}

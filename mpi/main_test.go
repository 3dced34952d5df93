package mpi

// How the tests run
//
// `go test ./mpi/` starts this binary without a launcher: the parent. It
// runs only TestMPI and TestProgram, which launch real MPI jobs:
//
//   - TestMPI re-executes the test binary under mpirun with 1, 2, 4 and 5
//     ranks, once per MPI implementation found (Open MPI and MPICH: the
//     binary for the other one is built with `go test -c -tags ...`). Each
//     rank runs every other Test function for real (the children). Under
//     `GOEXPERIMENT=cgocheck2 go test ./mpi/` every binary has the check.
//   - TestProgram builds mpi/internal/testprog with plain `go build` per
//     implementation and checks its output and its failure modes.
//
// A child is recognised by MPIGO_TEST_CHILD=1 or the rank variables the
// launchers set, so `mpirun -n 4 ./mpi.test -test.v` also works by hand.
// Tests in children must call collectives in the same order on every rank:
// they use t.Errorf, never t.Fatal, between collectives.
//
// Environment knobs:
//   MPIGO_TEST_MPI=openmpi,mpich  implementations to test (default: all found)
//   MPIGO_TEST_NP=1,2,4,5         world sizes
//   MPIGO_TEST_PROGRAM=0          skip TestProgram
//   MPIGO_TEST_CGOCHECK2=1        add a run built with GOEXPERIMENT=cgocheck2
//                                 (test/mpi.sh instead runs the whole
//                                 `GOEXPERIMENT=cgocheck2 go test ./mpi/`)

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// child reports whether this process is a rank of an MPI job.
func child() bool {
	if os.Getenv("MPIGO_TEST_CHILD") == "1" {
		return true
	}
	for _, v := range []string{"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// runPattern is the -test.run the parent was given, passed on to children.
var runPattern string

func TestMain(m *testing.M) {
	flag.Parse()
	if child() {
		Init()
		if !IsThreadMain() {
			fmt.Fprintln(os.Stderr, "TestMain: IsThreadMain is false on the goroutine that called Init")
			os.Exit(3)
		}
		code := m.Run()
		Finalize()
		os.Exit(code)
	}
	// The parent runs only the launcher tests; a -run pattern selects
	// the child tests TestMPI runs, or TestProgram alone.
	f := flag.Lookup("test.run")
	runPattern = f.Value.String()
	parent := "^(TestMPI|TestProgram)$"
	if runPattern != "" {
		parent = "^TestMPI$"
		if re, err := regexp.Compile(runPattern); err == nil && re.MatchString("TestProgram") {
			parent = "^TestProgram$"
		}
	}
	if err := f.Value.Set(parent); err != nil {
		panic(err)
	}
	code := m.Run()
	if theBuilds != nil {
		theBuilds.mu.Lock()
		for _, j := range theBuilds.jobs {
			<-j.done
		}
		theBuilds.mu.Unlock()
		os.RemoveAll(theBuilds.dir)
	}
	os.Exit(code)
}

// needParent skips parent-only tests in a child.
func needParent(t *testing.T) {
	t.Helper()
	if child() {
		t.Skip("runs in the parent test process only")
	}
}

// ---- implementations and launchers ----

type impl struct {
	name     string   // "openmpi" or "mpich"
	tags     string   // build tags selecting it
	pc       string   // pkg-config module
	launcher string   // path of its mpirun
	args     []string // launcher arguments before the program
	env      []string // extra environment
}

func lookLauncher(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// launcherIs checks with --version that a generic mpirun is the given one.
func launcherIs(path, marker string) bool {
	out, _ := exec.Command(path, "--version").CombinedOutput()
	return bytes.Contains(out, []byte(marker))
}

func findImpls(t *testing.T) []impl {
	var all []impl
	want := os.Getenv("MPIGO_TEST_MPI")
	selected := func(name string) bool {
		if want == "" {
			return true
		}
		for _, w := range strings.Split(want, ",") {
			if strings.TrimSpace(w) == name {
				return true
			}
		}
		return false
	}
	pcExists := func(mod string) bool { return exec.Command("pkg-config", "--exists", mod).Run() == nil }
	self := Implementation()

	if selected("openmpi") && (self == "openmpi" || pcExists("ompi-c")) {
		l := lookLauncher("mpirun.openmpi", "orterun")
		if l == "" {
			if p := lookLauncher("mpirun"); p != "" && launcherIs(p, "Open MPI") {
				l = p
			}
		}
		if l != "" {
			env := []string{}
			if os.Geteuid() == 0 {
				env = append(env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
			}
			all = append(all, impl{name: "openmpi", tags: "ompi", pc: "ompi-c", launcher: l,
				// oversubscribed ranks must yield the CPU while they poll
				args: []string{"--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1"},
				env:  env})
		} else {
			t.Logf("Open MPI library found but no Open MPI launcher (mpirun.openmpi)")
		}
	}
	if selected("mpich") && (self == "mpich" || pcExists("mpich")) {
		l := lookLauncher("mpirun.mpich", "mpiexec.mpich", "mpiexec.hydra")
		if l == "" {
			if p := lookLauncher("mpirun"); p != "" && launcherIs(p, "HYDRA") {
				l = p
			}
		}
		if l != "" {
			all = append(all, impl{name: "mpich", tags: "mpich", pc: "mpich", launcher: l})
		} else {
			t.Logf("MPICH library found but no MPICH launcher (mpirun.mpich)")
		}
	}
	return all
}

// ---- building ----

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// builds runs `go build`/`go test -c` once per output, concurrently with
// the jobs already running.
type builds struct {
	dir  string
	mu   sync.Mutex
	jobs map[string]*build
}

type build struct {
	done chan struct{}
	path string
	err  error
	out  []byte
	secs float64
}

func (b *builds) start(name string, env []string, args ...string) *build {
	b.mu.Lock()
	defer b.mu.Unlock()
	if j, ok := b.jobs[name]; ok {
		return j
	}
	j := &build{done: make(chan struct{}), path: filepath.Join(b.dir, name)}
	b.jobs[name] = j
	go func() {
		defer close(j.done)
		t0 := time.Now()
		all := append([]string{args[0], "-o", j.path}, args[1:]...)
		cmd := exec.Command(goTool(), all...)
		cmd.Env = append(os.Environ(), env...)
		j.out, j.err = cmd.CombinedOutput()
		j.secs = time.Since(t0).Seconds()
	}()
	return j
}

func (j *build) wait(t *testing.T) string {
	t.Helper()
	<-j.done
	if j.err != nil {
		t.Fatalf("build %s: %v\n%s", filepath.Base(j.path), j.err, j.out)
	}
	return j.path
}

var (
	buildsOnce sync.Once
	theBuilds  *builds
)

func getBuilds(t *testing.T) *builds {
	buildsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mpigo-test-")
		if err != nil {
			t.Fatal(err)
		}
		theBuilds = &builds{dir: dir, jobs: map[string]*build{}}
	})
	return theBuilds
}

// ---- launching ----

// cleanEnv drops launcher variables inherited from an enclosing job, and
// those of a SLURM allocation: the tests launch their ranks here, where the
// test binary is (inside salloc or an srun step, mpirun would start them on
// the allocation's nodes, which need not see this machine's /tmp).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OMPI_") || strings.HasPrefix(k, "PMIX_") || strings.HasPrefix(k, "PMI_") ||
			strings.HasPrefix(k, "HYDRA_") || strings.HasPrefix(k, "MPIR_") || strings.HasPrefix(k, "SLURM_") || k == "MPIGO_TEST_CHILD" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

type result struct {
	out     string
	err     error
	code    int
	secs    float64
	timeout bool
}

// launch runs prog under im's launcher with np ranks, killing the whole
// process group after the timeout.
func launch(im impl, np int, timeout time.Duration, env []string, prog string, progArgs ...string) result {
	args := append([]string{"-n", strconv.Itoa(np)}, im.args...)
	args = append(args, prog)
	args = append(args, progArgs...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, im.launcher, args...)
	cmd.Env = append(append(cleanEnv(), im.env...), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	t0 := time.Now()
	err := cmd.Run()
	r := result{out: out.String(), err: err, secs: time.Since(t0).Seconds()}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.timeout = true
	}
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // stragglers
	}
	return r
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func sizes() []int {
	s := os.Getenv("MPIGO_TEST_NP")
	if s == "" {
		return []int{1, 2, 4, 5}
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// startBuilds starts, once, every build the parent tests need: the test
// binary for each implementation other than this binary's, testprog for
// each implementation and with no tags, and the cgocheck2 test binary if
// asked for. They run while the first jobs do.
func startBuilds(t *testing.T, impls []impl) (tests map[string]*build, cgo2 *build) {
	b := getBuilds(t)
	tests = map[string]*build{}
	for _, im := range impls {
		if im.name != Implementation() {
			tests[im.name] = b.start(im.name+".test", nil, "test", "-c", "-tags", im.tags, ".")
		}
	}
	if os.Getenv("MPIGO_TEST_PROGRAM") != "0" {
		for _, im := range impls {
			b.start("testprog-"+im.name, nil, "build", "-tags", im.tags, "./internal/testprog")
		}
		b.start("testprog-default", nil, "build", "./internal/testprog")
	}
	// An extra run built with GOEXPERIMENT=cgocheck2 (a slow first build:
	// the whole standard library is rebuilt), unless this binary is one
	// already, in which case every run checks with it.
	if os.Getenv("MPIGO_TEST_CGOCHECK2") == "1" && !cgocheck2 {
		cgo2 = b.start(impls[0].name+"-cgocheck2.test", []string{"GOEXPERIMENT=cgocheck2"}, "test", "-c", "-tags", impls[0].tags, ".")
	}
	return tests, cgo2
}

// TestMPI runs the child tests under every implementation and world size.
func TestMPI(t *testing.T) {
	needParent(t)
	impls := findImpls(t)
	if len(impls) == 0 {
		t.Fatalf("no MPI launcher found for the library this test is built with (%s); install openmpi-bin or mpich", LibraryVersionShort())
	}
	bins, cgo2Build := startBuilds(t, impls)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cgo2 := cgo2Build != nil

	if cgocheck2 {
		t.Log("built with GOEXPERIMENT=cgocheck2: every job checks the pointers handed to C")
	}
	childArgs := []string{"-test.timeout=100s"}
	if runPattern != "" {
		childArgs = append(childArgs, "-test.run="+runPattern)
	}
	if testing.Verbose() {
		childArgs = append(childArgs, "-test.v")
	}
	run := func(t *testing.T, im impl, np int, bin string) {
		r := launch(im, np, 120*time.Second, []string{"MPIGO_TEST_CHILD=1"}, bin, childArgs...)
		switch {
		case r.timeout:
			t.Errorf("%s -n %d timed out after %.0f s (a deadlock?)\n%s", im.name, np, r.secs, tail(r.out, 80))
		case r.err != nil:
			t.Errorf("%s -n %d failed (%v) in %.1f s:\n%s", im.name, np, r.err, r.secs, tail(r.out, 120))
		case !strings.Contains(r.out, "PASS"):
			t.Errorf("%s -n %d: no PASS in the output:\n%s", im.name, np, tail(r.out, 60))
		default:
			t.Logf("%s -n %d passed in %.1f s", im.name, np, r.secs)
			if testing.Verbose() {
				t.Log("\n" + tail(r.out, 400))
			}
		}
	}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			bin := self
			if j, ok := bins[im.name]; ok {
				bin = j.wait(t)
				t.Logf("built %s binary in %.1f s", im.name, j.secs)
			}
			for _, np := range sizes() {
				t.Run("np="+strconv.Itoa(np), func(t *testing.T) { run(t, im, np, bin) })
			}
		})
	}
	if cgo2 {
		t.Run("cgocheck2", func(t *testing.T) {
			bin := cgo2Build.wait(t)
			t.Logf("built GOEXPERIMENT=cgocheck2 binary in %.1f s", cgo2Build.secs)
			run(t, impls[0], 4, bin)
		})
	}
}

// errorsAs is errors.As for panics values.
func errorsAs[T error](v any) (T, bool) {
	var zero T
	err, ok := v.(error)
	if !ok {
		return zero, false
	}
	var target T
	if errors.As(err, &target) {
		return target, true
	}
	return zero, false
}

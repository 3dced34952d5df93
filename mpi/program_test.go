package mpi

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestProgram builds mpi/internal/testprog, a plain program importing the
// package, with `go build` for each implementation, checks what it links
// against, runs it under mpirun, and checks how failures end a job: an MPI
// error, a misuse panic, Abort, a call before Init, and a launcher that does
// not match the library.
func TestProgram(t *testing.T) {
	needParent(t)
	if os.Getenv("MPIGO_TEST_PROGRAM") == "0" {
		t.Skip("MPIGO_TEST_PROGRAM=0")
	}
	impls := findImpls(t)
	if len(impls) == 0 {
		t.Fatalf("no MPI launcher found")
	}
	startBuilds(t, impls)
	b := getBuilds(t)
	progs := map[string]*build{}
	for _, im := range impls {
		progs[im.name] = b.start("testprog-"+im.name, nil, "build", "-tags", im.tags, "./internal/testprog")
	}
	def := b.start("testprog-default", nil, "build", "./internal/testprog")
	libs := map[string]string{"openmpi": "libmpi.so", "mpich": "libmpich.so"}

	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			prog := progs[im.name].wait(t)
			if ldd, err := exec.LookPath("ldd"); err == nil {
				out, _ := exec.Command(ldd, prog).CombinedOutput()
				if !strings.Contains(string(out), libs[im.name]) {
					t.Errorf("testprog built with -tags %s does not link %s:\n%s", im.tags, libs[im.name], out)
				}
			}
			r := launch(im, 3, 60*time.Second, nil, prog)
			want := "impl=" + im.name + " thread=MPI_THREAD_MULTIPLE sum=6 want=6"
			if r.err != nil || !strings.Contains(r.out, want) || !strings.Contains(r.out, "rank 0 of 3; rank 1 of 3; rank 2 of 3") {
				t.Errorf("hello: %v\n%s", r.err, tail(r.out, 40))
			}
			r = launch(im, 3, 60*time.Second, nil, prog, "funneled")
			if r.err != nil || !strings.Contains(r.out, "funneled ok: MPI_THREAD_FUNNELED, sum 3") {
				t.Errorf("funneled: %v\n%s", r.err, tail(r.out, 40))
			}
			failures := []struct {
				mode string
				want []string // all of these in the output
				// abort: the launcher tears the job down at once and may drop
				// the last lines of any rank (MPICH's hydra loses one or both
				// of them about once in five runs here), so one of these
				// lines, or the exit status Abort asked for, shows it
				anyOf []string
				code  int
			}{
				{mode: "truncate", want: []string{"mpi: rank 0: Comm.Recv(2 x float64, source=1, tag=5)", "runcated"}},
				{mode: "misuse", want: []string{"mpi: Comm.Send: dest: rank 3 is out of range"}},
				{mode: "abort", anyOf: []string{"rank 2 aborting", "MPI_Abort(MPI_COMM_WORLD, 3) - process 2", "MPI_ABORT was invoked on rank 2"}, code: 3},
				{mode: "preinit", want: []string{"mpi: Comm.Rank: called before mpi.Init"}},
				{mode: "finalize-busy", want: []string{"mpi: Finalize: other goroutines are still inside MPI calls (Comm.Recv in goroutine", "sync.WaitGroup"}},
				{mode: "finalize-pending", want: []string{"mpi: Finalize: 1 request(s) started by Isend or Irecv were never completed"}},
			}
			for _, f := range failures {
				r := launch(im, 3, 60*time.Second, nil, prog, f.mode)
				ok := !r.timeout && r.err != nil
				for _, w := range f.want {
					ok = ok && strings.Contains(r.out, w)
				}
				if f.anyOf != nil {
					ok = ok && (r.code == f.code || containsAny(r.out, f.anyOf))
				}
				if !ok {
					t.Errorf("%s: want a failed job (not a hang) whose output contains %q (or any of %q); got %v after %.1f s:\n%s",
						f.mode, f.want, f.anyOf, r.err, r.secs, tail(r.out, 40))
				} else {
					t.Logf("%s: job failed as expected in %.1f s (%v)", f.mode, r.secs, r.err)
				}
			}
			// a binary for the other implementation under this launcher
			for _, other := range impls {
				if other.name == im.name {
					continue
				}
				r := launch(im, 2, 60*time.Second, nil, progs[other.name].wait(t))
				if r.timeout || r.err == nil || !strings.Contains(r.out, "launcher and library do not match") {
					t.Errorf("%s binary under the %s launcher: want a clear mismatch error, got %v:\n%s", other.name, im.name, r.err, tail(r.out, 30))
				}
			}
		})
	}
	t.Run("default build", func(t *testing.T) {
		prog := def.wait(t)
		for _, im := range impls {
			if im.name == Implementation() {
				r := launch(im, 2, 60*time.Second, nil, prog)
				if r.err != nil || !strings.Contains(r.out, "impl="+im.name) {
					t.Errorf("default build under %s: %v\n%s", im.launcher, r.err, tail(r.out, 30))
				}
			}
		}
	})
}

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

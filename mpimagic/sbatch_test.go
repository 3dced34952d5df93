package mpimagic

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

func TestBatchScript(t *testing.T) {
	spec := batchSpec{
		opts:     Options{N: 4, Launcher: "auto", Sbatch: true, Timeout: 90 * time.Second, Batch: slurm.Batch{Partition: "debug", Nodes: "2", Account: "proj_1"}},
		name:     "mpigo-cell7",
		cellName: "cell[7]",
		output:   "/home/u/.cache/mpigo/sbatch/job-1/slurm-%j.out",
		env:      []string{"MPIGO_RANKIO=10.0.0.1:4000,127.0.0.1:4000;tok;login1", "MPIGO_DISPLAY=d", "GREETING=it's a \"test\" $HOME"},
		mpi:      "pmix",
		wrapper:  []string{"/home/u/.cache/mpigo/build/w/mpigo-rankio"},
		program:  []string{"/home/u/.cache/mpigo/build/p/cell"},
	}
	s := batchScript(spec)
	for _, want := range []string{
		"#!/bin/bash\n#SBATCH --job-name=mpigo-cell7\n#SBATCH --ntasks=4\n",
		"#SBATCH --time=00:02:00\n", // --timeout 90s, rounded up to the minute
		"#SBATCH --output=/home/u/.cache/mpigo/sbatch/job-1/slurm-%j.out\n",
		"#SBATCH --partition=debug\n#SBATCH --nodes=2\n#SBATCH --account=proj_1\n",
		"export MPIGO_RANKIO='10.0.0.1:4000,127.0.0.1:4000;tok;login1'\n",
		"export GREETING='it'\\''s a \"test\" $HOME'\n",
		"\nexec srun --mpi=pmix -n 4 --kill-on-bad-exit=1 /home/u/.cache/mpigo/build/w/mpigo-rankio -- /home/u/.cache/mpigo/build/p/cell\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the script lacks %q:\n%s", want, s)
		}
	}
	// bash reads it, and #SBATCH lines come before any command
	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", "-c", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v\n%s", err, out)
		}
	}
	seenCommand := false
	for _, line := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(line, "#SBATCH") && seenCommand:
			t.Errorf("#SBATCH after a command: %q", line)
		case line != "" && !strings.HasPrefix(line, "#"):
			seenCommand = true
		}
	}

	for _, tt := range []struct {
		o    Options
		want string // the --time line, "" for none
	}{
		{Options{N: 1}, ""},
		{Options{N: 1, Batch: slurm.Batch{Time: "1-00:00:00"}}, "#SBATCH --time=1-00:00:00\n"},
		{Options{N: 1, Timeout: 5 * time.Second, Batch: slurm.Batch{Time: "30"}}, "#SBATCH --time=30\n"},
		{Options{N: 1, Timeout: 5 * time.Second}, "#SBATCH --time=00:01:00\n"},
		{Options{N: 1, Timeout: 25 * time.Hour}, "#SBATCH --time=1-01:00:00\n"},
	} {
		s := batchScript(batchSpec{opts: tt.o, name: "j", cellName: "cell[1]", output: "o", wrapper: []string{"w"}, program: []string{"p"}})
		if !strings.Contains(s, "\nexec srun -n 1 --kill-on-bad-exit=1 w -- p\n") { // no --mpi: srun's default
			t.Errorf("srun line:\n%s", s)
		}
		got := ""
		for _, line := range strings.SplitAfter(s, "\n") {
			if strings.HasPrefix(line, "#SBATCH --time=") {
				got = line
			}
		}
		if got != tt.want {
			t.Errorf("%+v: time line %q, want %q", tt.o, got, tt.want)
		}
	}
}

func TestSubmitError(t *testing.T) {
	tests := []struct {
		stderr string
		value  string // substring of the error's value
		hint   string // substring of the traceback
	}{
		{"sbatch: error: invalid partition specified: nosuch\nsbatch: error: Batch job submission failed: Invalid partition name specified",
			"sbatch refused the job: invalid partition specified: nosuch", "`sinfo -s` lists the partitions"},
		{"sbatch: error: Batch job submission failed: More processors requested than permitted",
			"sbatch refused the job: Batch job submission failed: More processors requested than permitted", "fewer CPUs than -n asks for"},
		{"sbatch: error: Batch job submission failed: Requested node configuration is not available",
			"Requested node configuration is not available", "no node of the partition fits"},
		{"sbatch: unrecognized option '--bogus'\nTry \"sbatch --help\" for more information",
			"sbatch refused the job: unrecognized option '--bogus'", "the words after -- go to sbatch"},
	}
	for _, tt := range tests {
		werr := submitError(errors.New("sbatch: "+tt.stderr), []string{"--parsable", "--bogus"})
		tb := strings.Join(werr.Traceback, "\n")
		if werr.Name != cellio.SubmitError || !strings.Contains(werr.Value, tt.value) || !strings.Contains(tb, tt.hint) {
			t.Errorf("%q: %s: %s\n%s", tt.stderr, werr.Name, werr.Value, tb)
		}
		for _, line := range strings.Split(tt.stderr, "\n") { // everything sbatch said, as it said it
			if !strings.Contains(tb, "    "+line) {
				t.Errorf("the traceback lacks %q:\n%s", line, tb)
			}
		}
	}
}

// TestSbatchWithoutSlurm: without sbatch on PATH, the cell says so before
// building anything.
func TestSbatchWithoutSlurm(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	m := New(Config{Environ: testEnviron, Sources: mpigo.Sources, CacheDir: t.TempDir()})
	defer m.Close()
	rec := celliotest.New()
	_, err := m.Cell(context.Background(), 2, []string{"-n", "2", "--sbatch"}, `fmt.Println("hi")`, rec)
	var werr *cellio.Error
	if !errors.As(err, &werr) || werr.Name != cellio.UsageError || !strings.Contains(werr.Value, "no sbatch command on PATH") ||
		!strings.Contains(werr.Value, "--export") {
		t.Fatalf("error %#v", err)
	}
	if len(rec.Displays()) != 0 {
		t.Errorf("a progress display for a cell that cannot be submitted: %+v", rec.Displays())
	}
}

func TestBatchJobDir(t *testing.T) {
	cache := t.TempDir()
	old := filepath.Join(cache, "sbatch", "job-old")
	if err := os.MkdirAll(old, 0o700); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * jobDirMaxAge)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	dir, err := batchJobDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != filepath.Join(cache, "sbatch") {
		t.Errorf("job dir %s not under the cache's sbatch/", dir)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, mode %v; want a private directory", d, err, fi.Mode())
		}
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the day-old job dir is still there: %v", err)
	}
}

func TestNodeLocal(t *testing.T) {
	for dir, want := range map[string]bool{
		"/tmp": true, "/tmp/x/mpigo": true, "/var/tmp/c": true, "/dev/shm/c": true, "/run/user/1000/mpigo": true,
		"/home/u/.cache/mpigo": false, "/tmpfs/mpigo": false, "/scratch/u/mpigo": false,
	} {
		if got := nodeLocal(dir); got != want {
			t.Errorf("nodeLocal(%q) = %v", dir, got)
		}
	}
}

func TestBatchTitle(t *testing.T) {
	l := &launch.Launcher{Kind: "srun", Path: "/usr/bin/srun", Flavour: build.OpenMPI}
	stopped := []launch.RankResult{{Rank: 0, Started: true}, {Rank: 1, Started: true, Exited: true}}
	for _, tt := range []struct {
		reason launch.StopReason
		o      Options
		state  string
		want   string
	}{
		{launch.RanToEnd, Options{N: 2}, "COMPLETED", "srun -n 2, Open MPI: all 2 ranks exited 0 in 1.00 s"},
		{launch.StopInterrupt, Options{N: 2}, "CANCELLED", "srun -n 2, Open MPI: interrupted in 1.00 s"},
		{launch.StopCancelled, Options{N: 2}, "CANCELLED", "srun -n 2, Open MPI: cancelled in 1.00 s"},
		{launch.StopTimeout, Options{N: 2, Timeout: 5 * time.Second}, "CANCELLED", "srun -n 2, Open MPI: stopped by --timeout 5s in 1.00 s"},
		{launch.StopTimeout, Options{N: 2}, "TIMEOUT", "srun -n 2, Open MPI: stopped at the job's time limit in 1.00 s"},
	} {
		rs := stopped
		if tt.reason == launch.RanToEnd {
			rs = []launch.RankResult{{Rank: 0, Started: true, Exited: true}, {Rank: 1, Started: true, Exited: true}}
		}
		oc := &launch.Outcome{Reason: tt.reason, Results: rs, Took: time.Second}
		if got := batchTitle(oc, tt.o, l, slurm.JobState{State: tt.state}); got != tt.want {
			t.Errorf("%d/%s: %q, want %q", tt.reason, tt.state, got, tt.want)
		}
	}
}

func TestWaited(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"}, {1500 * time.Millisecond, "1 s"}, {59 * time.Second, "59 s"}, {61 * time.Second, "1 min"},
		{59 * time.Minute, "59 min"}, {2*time.Hour + 5*time.Minute + 30*time.Second, "2 h 05 min"},
	} {
		if got := slurm.Waited(tt.d); got != tt.want {
			t.Errorf("slurm.Waited(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestBatchExplain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mpigo", "sbatch", "job-1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	written := filepath.Join(dir, "slurm-5.out")
	if err := os.WriteFile(written, []byte("srun: error: n1: task 0: Exited with exit code 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	none := []launch.RankResult{{Rank: 0}, {Rank: 1}}
	all := []launch.RankResult{{Rank: 0, Started: true, Exited: true}, {Rank: 1, Started: true, Exited: true}}
	for _, tt := range []struct {
		name    string
		results []launch.RankResult
		text    string
		outFile string
		want    string // substring; "" for no explanation
	}{
		{"every rank reported", all, "", filepath.Join(dir, "missing.out"), ""},
		{"the nodes cannot reach the kernel", none,
			"mpigo rankio: rank 0 cannot reach the notebook kernel (dial tcp 10.0.0.1:4000: i/o timeout); its output goes through the launcher instead\n",
			written, "could not connect back to this kernel over TCP"},
		{"no output file: the cache is not shared", none, "", filepath.Join(dir, "slurm-6.out"),
			"may not see mpigo's cache directory " + filepath.Dir(filepath.Dir(dir))},
		{"an output file that says something else", none, "srun: error: n1: task 0: Exited with exit code 1\n", written, ""},
	} {
		b := &batchRun{dir: dir, outFile: tt.outFile}
		got := b.explain(&launch.Outcome{Results: tt.results, LauncherText: tt.text})
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestSbatchEnv: SLURM's commands run without the variables of another
// MPI job or of the allocation the kernel runs in (but SLURM_CONF).
func TestSbatchEnv(t *testing.T) {
	in := []string{"PATH=/bin", "SLURM_CONF=/etc/conf", "SLURM_JOB_ID=5", "SLURM_NTASKS=4", "SLURM_CPUS_PER_TASK=8",
		"SBATCH_ACCOUNT=proj", "OMPI_COMM_WORLD_RANK=0", "PMIX_RANK=0", "MPIGO_RANKIO=x", "HOME=/h"}
	want := []string{"PATH=/bin", "SLURM_CONF=/etc/conf", "SBATCH_ACCOUNT=proj", "HOME=/h"}
	if got := slurm.ClientEnv(environ.New(in...).Child()); !reflect.DeepEqual(got, want) {
		t.Errorf("the environment of SLURM's commands = %q, want %q", got, want)
	}
}

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

	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/mpimagic/launch"

	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/slurm"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/cellio"
)

// Outputs of SLURM 22.05 (Debian's slurm-wlm) on the cluster of
// install/slurm-cluster.sh, as `scontrol -o show job ID` printed them.
const (
	scontrolPendingPriority = `JobId=80 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901750 Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=Priority Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-25T07:28:51 EligibleTime=2026-11-25T07:28:51 AccrueTime=Unknown StartTime=Unknown EndTime=Unknown Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T07:28:51 Scheduler=Main Partition=debug AllocNode:Sid=localhost:16831 ReqNodeList=(null) ExcNodeList=(null) NodeList= NumNodes=2-2 NumCPUs=2 NumTasks=2 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=2,mem=2M,node=2,billing=2 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/var/lib/mpigo-slurm/shared StdErr=/var/lib/mpigo-slurm/shared/slurm-80.out StdIn=/dev/null StdOut=/var/lib/mpigo-slurm/shared/slurm-80.out Power= `
	scontrolPendingNone     = `JobId=79 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901751 Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-25T07:28:51 EligibleTime=2026-11-25T07:28:51 AccrueTime=Unknown StartTime=Unknown EndTime=Unknown Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T07:28:51 Scheduler=Main Partition=debug AllocNode:Sid=localhost:16831 ReqNodeList=(null) ExcNodeList=(null) NodeList= NumNodes=2 NumCPUs=16 NumTasks=16 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=16,mem=1M,node=1,billing=16 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/var/lib/mpigo-slurm/shared StdErr=/var/lib/mpigo-slurm/shared/slurm-79.out StdIn=/dev/null StdOut=/var/lib/mpigo-slurm/shared/slurm-79.out Power= `
	scontrolCompleted       = `JobId=80 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901750 Nice=0 Account=(null) QOS=(null) JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:01 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-25T07:28:51 EligibleTime=2026-11-25T07:28:51 AccrueTime=2026-11-25T07:28:51 StartTime=2026-11-25T07:28:56 EndTime=2026-11-25T07:28:57 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T07:28:56 Scheduler=Main Partition=debug AllocNode:Sid=localhost:16831 ReqNodeList=(null) ExcNodeList=(null) NodeList=n[1-2] BatchHost=n1 NumNodes=2 NumCPUs=2 NumTasks=2 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=2,node=2,billing=2 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/var/lib/mpigo-slurm/shared StdErr=/var/lib/mpigo-slurm/shared/slurm-80.out StdIn=/dev/null StdOut=/var/lib/mpigo-slurm/shared/slurm-80.out Power= `
	scontrolTimeout         = `JobId=87 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901743 Nice=0 Account=(null) QOS=(null) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:01:03 TimeLimit=00:01:00 TimeMin=N/A SubmitTime=2026-11-25T07:29:03 EligibleTime=2026-11-25T07:29:03 AccrueTime=2026-11-25T07:29:03 StartTime=2026-11-25T07:29:03 EndTime=2026-11-25T07:30:06 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T07:29:03 Scheduler=Main Partition=debug AllocNode:Sid=localhost:16831 ReqNodeList=(null) ExcNodeList=(null) NodeList=n1 BatchHost=n1 NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/var/lib/mpigo-slurm/shared StdErr=/var/lib/mpigo-slurm/shared/slurm-87.out StdIn=/dev/null StdOut=/var/lib/mpigo-slurm/shared/slurm-87.out Power= `
)

func TestScontrolState(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want jobState
		// ended, started, describe, final
		ended, started bool
		describe       string
		final          string
	}{
		{"pending, reason None", scontrolPendingNone, jobState{State: "PENDING", ExitCode: "0:0"}, false, false, "pending", "PENDING"},
		{"pending on priority", scontrolPendingPriority, jobState{State: "PENDING", Reason: "Priority", ExitCode: "0:0"}, false, false, "pending (Priority)", "PENDING"},
		{"pending on resources", strings.Replace(scontrolPendingPriority, "Reason=Priority", "Reason=Resources", 1),
			jobState{State: "PENDING", Reason: "Resources", ExitCode: "0:0"}, false, false, "pending (Resources)", "PENDING"},
		{"running", "JobId=86 JobName=wrap JobState=RUNNING Reason=None Dependency=(null) ExitCode=0:0 RunTime=00:00:02 ReqNodeList=(null) ExcNodeList=(null) NodeList=n1 BatchHost=n1",
			jobState{State: "RUNNING", Nodes: "n1", ExitCode: "0:0"}, false, true, "running on n1", "RUNNING"},
		{"completing after scancel", "JobId=86 JobState=COMPLETING Reason=None ExitCode=0:15 ReqNodeList=(null) NodeList=n1",
			jobState{State: "COMPLETING", Nodes: "n1", ExitCode: "0:15"}, false, true, "completing", "COMPLETING (signal 15)"},
		{"completed on two nodes", scontrolCompleted, jobState{State: "COMPLETED", Nodes: "n[1-2]", ExitCode: "0:0"}, true, true, "completed", "COMPLETED"},
		{"cancelled while running", "JobId=86 JobState=CANCELLED Reason=None ExitCode=0:15 NodeList=n1",
			jobState{State: "CANCELLED", Nodes: "n1", ExitCode: "0:15"}, true, true, "cancelled", "CANCELLED"},
		{"cancelled while pending", "JobId=107 JobState=CANCELLED Reason=None ExitCode=0:0 ReqNodeList=(null) ExcNodeList=(null) NodeList=(null)",
			jobState{State: "CANCELLED", ExitCode: "0:0"}, true, false, "cancelled", "CANCELLED"},
		{"failed", "JobId=88 JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 NodeList=n1",
			jobState{State: "FAILED", Reason: "NonZeroExitCode", Nodes: "n1", ExitCode: "3:0"}, true, true, "failed", "FAILED (exit code 3)"},
		{"time limit", scontrolTimeout, jobState{State: "TIMEOUT", Reason: "TimeLimit", Nodes: "n1", ExitCode: "0:15"}, true, true, "timeout", "TIMEOUT"},
		{"node failure", "JobId=9 JobState=NODE_FAIL Reason=NodeDown ExitCode=0:9 NodeList=n2",
			jobState{State: "NODE_FAIL", Reason: "NodeDown", Nodes: "n2", ExitCode: "0:9"}, true, true, "node_fail", "NODE_FAIL (signal 9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scontrolState(parseScontrol(tt.out))
			if s != tt.want {
				t.Fatalf("state %+v, want %+v", s, tt.want)
			}
			if s.ended() != tt.ended || s.started() != tt.started {
				t.Errorf("ended %v started %v, want %v %v", s.ended(), s.started(), tt.ended, tt.started)
			}
			if got := s.describe(); got != tt.describe {
				t.Errorf("describe %q, want %q", got, tt.describe)
			}
			if got := s.final(); got != tt.final {
				t.Errorf("final %q, want %q", got, tt.final)
			}
		})
	}
}

func TestParseScontrolValuesWithSpaces(t *testing.T) {
	f := parseScontrol("JobId=5 JobState=RUNNING Comment=a b=c d WorkDir=/home/a user/x y StdOut=/o NodeList=n[1-2]\n")
	want := map[string]string{"JobId": "5", "JobState": "RUNNING", "Comment": "a", "b": "c d", "WorkDir": "/home/a user/x y", "StdOut": "/o", "NodeList": "n[1-2]"}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("fields %v, want %v", f, want)
	}
}

func TestParseSqueue(t *testing.T) {
	tests := []struct {
		out  string
		want jobState
		ok   bool
	}{
		{"PENDING|Priority|\n", jobState{State: "PENDING", Reason: "Priority"}, true},
		{"PENDING|Resources|\n", jobState{State: "PENDING", Reason: "Resources"}, true},
		{"RUNNING|None|n[1-2]\n", jobState{State: "RUNNING", Nodes: "n[1-2]"}, true},
		{"COMPLETING|None|n1\n", jobState{State: "COMPLETING", Nodes: "n1"}, true},
		{"", jobState{}, false}, // left the queue
		{"\n", jobState{}, false},
	}
	for _, tt := range tests {
		s, ok := parseSqueue(tt.out)
		if s != tt.want || ok != tt.ok {
			t.Errorf("parseSqueue(%q) = %+v, %v; want %+v, %v", tt.out, s, ok, tt.want, tt.ok)
		}
	}
}

func TestParseSacct(t *testing.T) {
	tests := []struct {
		out  string
		want jobState
		ok   bool
	}{
		{"COMPLETED|0:0|n[1-2]\n", jobState{State: "COMPLETED", ExitCode: "0:0", Nodes: "n[1-2]"}, true},
		{"CANCELLED by 0|0:15|n1\n", jobState{State: "CANCELLED", ExitCode: "0:15", Nodes: "n1"}, true},
		{"CANCELLED by 1000|0:0|None assigned\n", jobState{State: "CANCELLED", ExitCode: "0:0"}, true},
		{"FAILED|3:0|n1\n", jobState{State: "FAILED", ExitCode: "3:0", Nodes: "n1"}, true},
		{"", jobState{}, false},
	}
	for _, tt := range tests {
		s, ok := parseSacct(tt.out)
		if s != tt.want || ok != tt.ok {
			t.Errorf("parseSacct(%q) = %+v, %v; want %+v, %v", tt.out, s, ok, tt.want, tt.ok)
		}
	}
	if got := (jobState{Gone: true}).final(); !strings.Contains(got, "final state unknown") {
		t.Errorf("a forgotten job's final state: %q", got)
	}
}

func TestSbatchJobID(t *testing.T) {
	tests := []struct {
		out, want string
		err       bool
	}{
		{"123\n", "123", false},
		{"4567;cluster2\n", "4567", false},
		{"sbatch: warning: can't honor --ntasks-per-node set to 2\n89\n", "89", false},
		{"", "", true},
		{"Submitted batch job 12\n", "", true},
	}
	for _, tt := range tests {
		got, err := sbatchJobID(tt.out)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("sbatchJobID(%q) = %q, %v", tt.out, got, err)
		}
	}
}

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

func TestSlurmEnv(t *testing.T) {
	in := []string{"PATH=/bin", "SLURM_CONF=/etc/slurm.conf", "SLURM_JOB_ID=5", "SLURM_NTASKS=4", "SLURM_CPUS_PER_TASK=8",
		"SBATCH_ACCOUNT=proj", "OMPI_COMM_WORLD_RANK=0", "PMIX_RANK=0", "MPIGO_RANKIO=x", "HOME=/h"}
	want := []string{"PATH=/bin", "SLURM_CONF=/etc/slurm.conf", "SBATCH_ACCOUNT=proj", "HOME=/h"}
	if got := slurmEnv(in); !reflect.DeepEqual(got, want) {
		t.Errorf("slurmEnv = %q, want %q", got, want)
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

func TestPollInterval(t *testing.T) {
	for _, tt := range []struct{ age, want time.Duration }{
		{0, pollEvery}, {29 * time.Second, pollEvery}, {30 * time.Second, pollSlow},
		{4 * time.Minute, pollSlow}, {5 * time.Minute, pollSlowest}, {10 * time.Hour, pollSlowest},
	} {
		if got := pollInterval(tt.age); got != tt.want {
			t.Errorf("pollInterval(%v) = %v, want %v", tt.age, got, tt.want)
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
		if got := batchTitle(oc, tt.o, l, jobState{State: tt.state}); got != tt.want {
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
		if got := waited(tt.d); got != tt.want {
			t.Errorf("waited(%v) = %q, want %q", tt.d, got, tt.want)
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

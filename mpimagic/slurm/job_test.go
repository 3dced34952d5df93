package slurm

import (
	"reflect"
	"strings"
	"testing"
	"time"
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
		want JobState
		// ended, started, describe, final
		ended, started bool
		describe       string
		final          string
	}{
		{"pending, reason None", scontrolPendingNone, JobState{State: "PENDING", ExitCode: "0:0"}, false, false, "pending", "PENDING"},
		{"pending on priority", scontrolPendingPriority, JobState{State: "PENDING", Reason: "Priority", ExitCode: "0:0"}, false, false, "pending (Priority)", "PENDING"},
		{"pending on resources", strings.Replace(scontrolPendingPriority, "Reason=Priority", "Reason=Resources", 1),
			JobState{State: "PENDING", Reason: "Resources", ExitCode: "0:0"}, false, false, "pending (Resources)", "PENDING"},
		{"running", "JobId=86 JobName=wrap JobState=RUNNING Reason=None Dependency=(null) ExitCode=0:0 RunTime=00:00:02 ReqNodeList=(null) ExcNodeList=(null) NodeList=n1 BatchHost=n1",
			JobState{State: "RUNNING", Nodes: "n1", ExitCode: "0:0"}, false, true, "running on n1", "RUNNING"},
		{"completing after scancel", "JobId=86 JobState=COMPLETING Reason=None ExitCode=0:15 ReqNodeList=(null) NodeList=n1",
			JobState{State: "COMPLETING", Nodes: "n1", ExitCode: "0:15"}, false, true, "completing", "COMPLETING (signal 15)"},
		{"completed on two nodes", scontrolCompleted, JobState{State: "COMPLETED", Nodes: "n[1-2]", ExitCode: "0:0"}, true, true, "completed", "COMPLETED"},
		{"cancelled while running", "JobId=86 JobState=CANCELLED Reason=None ExitCode=0:15 NodeList=n1",
			JobState{State: "CANCELLED", Nodes: "n1", ExitCode: "0:15"}, true, true, "cancelled", "CANCELLED"},
		{"cancelled while pending", "JobId=107 JobState=CANCELLED Reason=None ExitCode=0:0 ReqNodeList=(null) ExcNodeList=(null) NodeList=(null)",
			JobState{State: "CANCELLED", ExitCode: "0:0"}, true, false, "cancelled", "CANCELLED"},
		{"failed", "JobId=88 JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 NodeList=n1",
			JobState{State: "FAILED", Reason: "NonZeroExitCode", Nodes: "n1", ExitCode: "3:0"}, true, true, "failed", "FAILED (exit code 3)"},
		{"time limit", scontrolTimeout, JobState{State: "TIMEOUT", Reason: "TimeLimit", Nodes: "n1", ExitCode: "0:15"}, true, true, "timeout", "TIMEOUT"},
		{"node failure", "JobId=9 JobState=NODE_FAIL Reason=NodeDown ExitCode=0:9 NodeList=n2",
			JobState{State: "NODE_FAIL", Reason: "NodeDown", Nodes: "n2", ExitCode: "0:9"}, true, true, "node_fail", "NODE_FAIL (signal 9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scontrolState(parseScontrol(tt.out))
			if s != tt.want {
				t.Fatalf("state %+v, want %+v", s, tt.want)
			}
			if s.Ended() != tt.ended || s.Started() != tt.started {
				t.Errorf("ended %v started %v, want %v %v", s.Ended(), s.Started(), tt.ended, tt.started)
			}
			if got := s.Describe(); got != tt.describe {
				t.Errorf("describe %q, want %q", got, tt.describe)
			}
			if got := s.Final(); got != tt.final {
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
		want JobState
		ok   bool
	}{
		{"PENDING|Priority|\n", JobState{State: "PENDING", Reason: "Priority"}, true},
		{"PENDING|Resources|\n", JobState{State: "PENDING", Reason: "Resources"}, true},
		{"RUNNING|None|n[1-2]\n", JobState{State: "RUNNING", Nodes: "n[1-2]"}, true},
		{"COMPLETING|None|n1\n", JobState{State: "COMPLETING", Nodes: "n1"}, true},
		{"", JobState{}, false}, // left the queue
		{"\n", JobState{}, false},
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
		want JobState
		ok   bool
	}{
		{"COMPLETED|0:0|n[1-2]\n", JobState{State: "COMPLETED", ExitCode: "0:0", Nodes: "n[1-2]"}, true},
		{"CANCELLED by 0|0:15|n1\n", JobState{State: "CANCELLED", ExitCode: "0:15", Nodes: "n1"}, true},
		{"CANCELLED by 1000|0:0|None assigned\n", JobState{State: "CANCELLED", ExitCode: "0:0"}, true},
		{"FAILED|3:0|n1\n", JobState{State: "FAILED", ExitCode: "3:0", Nodes: "n1"}, true},
		{"", JobState{}, false},
	}
	for _, tt := range tests {
		s, ok := parseSacct(tt.out)
		if s != tt.want || ok != tt.ok {
			t.Errorf("parseSacct(%q) = %+v, %v; want %+v, %v", tt.out, s, ok, tt.want, tt.ok)
		}
	}
	if got := (JobState{Gone: true}).Final(); !strings.Contains(got, "final state unknown") {
		t.Errorf("a forgotten job's final state: %q", got)
	}
}

func TestJobID(t *testing.T) {
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
		got, err := JobID(tt.out)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("sbatchJobID(%q) = %q, %v", tt.out, got, err)
		}
	}
}

func TestPollInterval(t *testing.T) {
	for _, tt := range []struct{ age, want time.Duration }{
		{0, PollEvery}, {29 * time.Second, PollEvery}, {30 * time.Second, pollSlow},
		{4 * time.Minute, pollSlow}, {5 * time.Minute, pollSlowest}, {10 * time.Hour, pollSlowest},
	} {
		if got := pollInterval(tt.age); got != tt.want {
			t.Errorf("pollInterval(%v) = %v, want %v", tt.age, got, tt.want)
		}
	}
}

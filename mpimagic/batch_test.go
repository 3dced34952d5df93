package mpimagic

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/launch/launchtest"
	"github.com/mpigo/mpigo/mpimagic/report"
)

// fakeSlurm puts scontrol and scancel on PATH that answer for job 7 from a
// state file, and returns the functions that set its state, read the job
// ids scancel got and count the polls (scontrol's runs). scancel cancels
// the job, as SLURM would.
func fakeSlurm(t *testing.T) (setState func(string), cancels func() string, polls func() int) {
	dir := t.TempDir()
	state, log, pollLog := filepath.Join(dir, "state"), filepath.Join(dir, "scancel.log"), filepath.Join(dir, "polls")
	scripts := map[string]string{
		"scontrol": "#!/bin/sh\necho >>" + pollLog + "\ncat " + state + "\n",
		"scancel":  "#!/bin/sh\necho \"$@\" >>" + log + "\necho 'JobId=7 JobState=CANCELLED Reason=None NodeList=n1 ExitCode=0:15' >" + state + ".new\nmv " + state + ".new " + state + "\n",
	}
	for name, text := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	setState = func(s string) {
		if err := os.WriteFile(state+".new", []byte("JobId=7 "+s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(state+".new", state); err != nil {
			t.Fatal(err)
		}
	}
	cancels = func() string {
		b, _ := os.ReadFile(log)
		return string(b)
	}
	polls = func() int {
		b, _ := os.ReadFile(pollLog)
		return len(b)
	}
	return setState, cancels, polls
}

// newFakeBatch is job 7 of n ranks, submitted, with its collector.
func newFakeBatch(t *testing.T, o Options) (*batchRun, *launch.Collector) {
	em := launch.NewEmitter(celliotest.New())
	t.Cleanup(em.Close)
	col, err := launch.NewCollector(o.N, false, em, nil, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(col.Close)
	c := &cellRun{run: &run{m: &Magic{log: quietLog}, o: o, req: o.request(), em: em, pr: report.NewProgress(em), verbose: func(string) {}}}
	return &batchRun{c: c, env: os.Environ(), id: "7"}, col
}

// TestBatchJobTerminate: the batch backend cancels the job on a stop,
// but not after a rank failed (srun's --kill-on-bad-exit ends the job);
// giving up on the job cancels it, at most once in all.
func TestBatchJobTerminate(t *testing.T) {
	for _, tc := range []struct {
		reason launch.StopReason
		want   string
	}{
		{launch.StopFailure, ""}, {launch.StopInterrupt, "7\n"}, {launch.StopTimeout, "7\n"},
	} {
		t.Run(tc.reason.String(), func(t *testing.T) {
			setState, cancels, _ := fakeSlurm(t)
			setState("JobState=RUNNING Reason=None NodeList=n1 ExitCode=0:0")
			b, col := newFakeBatch(t, Options{N: 1})
			j := startBatchJob(b, col, time.Now())
			defer j.close()
			j.Terminate(tc.reason)
			if got := cancels(); got != tc.want {
				t.Errorf("terminate: scancel got %q, want %q", got, tc.want)
			}
			j.GiveUp() // cancels the job if terminate did not
			if got := cancels(); got != "7\n" {
				t.Errorf("giving up: scancel got %q in all", got)
			}
			if !j.stopping || !strings.Contains(j.state.State, "(still in the queue: check squeue -j 7)") {
				t.Errorf("stopping %v, state %q", j.stopping, j.state.State)
			}
		})
	}
}

// TestBatchFollow follows job 7 through the real batch backend, with
// scontrol and scancel faked.
func TestBatchFollow(t *testing.T) {
	t.Run("cancelled by SLURM at its time limit", func(t *testing.T) {
		setState, cancels, _ := fakeSlurm(t)
		setState("JobState=TIMEOUT Reason=TimeLimit NodeList=n1 ExitCode=0:0")
		b, col := newFakeBatch(t, Options{N: 2})
		conn := launchtest.DialRank(t, col.Address(false), col.Address(false).Token, 0)
		defer conn.Close()
		launchtest.WaitFor(t, "rank 0's connection", func() bool { s, _ := col.Counts(); return s == 1 })
		oc, ranAt := b.follow(context.Background(), col, time.Now())
		if oc.Reason != launch.StopTimeout || !slices.Equal(oc.Running, []int{0}) || !oc.Results[0].Stopped || ranAt.IsZero() || cancels() != "" {
			t.Errorf("reason %s, running %v, results %+v, ran at %v, scancel %q", oc.Reason.String(), oc.Running, oc.Results, ranAt, cancels())
		}
		if oc.LauncherErr == nil || oc.LauncherErr.Error() != "job 7 TIMEOUT" {
			t.Errorf("launcherErr %v", oc.LauncherErr)
		}
	})
	t.Run("--timeout counts from the job's start", func(t *testing.T) {
		setState, cancels, polls := fakeSlurm(t)
		setState("JobState=PENDING Reason=Resources NodeList=(null) ExitCode=0:0")
		b, col := newFakeBatch(t, Options{N: 1, Timeout: 50 * time.Millisecond})
		result := make(chan *launch.Outcome, 1)
		go func() { oc, _ := b.follow(context.Background(), col, time.Now()); result <- oc }()
		// The first poll comes at once and the third two pollEvery later:
		// by then the job has waited well past its --timeout, and must not
		// have been cancelled.
		launchtest.WaitFor(t, "three polls", func() bool { return polls() >= 3 })
		if got := cancels(); got != "" {
			t.Fatalf("a pending job was cancelled (%q)", got)
		}
		setState("JobState=RUNNING Reason=None NodeList=n1 ExitCode=0:0")
		select {
		case oc := <-result:
			if oc.Reason != launch.StopTimeout || cancels() != "7\n" || b.state.State != "CANCELLED" {
				t.Errorf("reason %s, scancel %q, state %+v", oc.Reason.String(), cancels(), b.state)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("follow did not return")
		}
	})
}

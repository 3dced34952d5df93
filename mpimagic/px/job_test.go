package px

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/mpimagic/report"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// fakeJob is a batch job whose "nodes" are this host: once its states
// are sent, it runs the fake launcher (as the job script runs srun).
type fakeJob struct {
	states    chan slurm.JobState
	cmd       *exec.Cmd
	mu        sync.Mutex
	final     slurm.JobState // what Query answers once the ranks are gone
	cancelled bool
}

// fakeSubmit is a Spec.Submit whose job passes through states, then runs
// the ranks unless the last state ended.
func fakeSubmit(t *testing.T, spec Spec, states ...slurm.JobState) (func(context.Context, []string, []string) (Job, error), *fakeJob) {
	j := &fakeJob{states: make(chan slurm.JobState, len(states)), final: slurm.JobState{State: "RUNNING"}}
	submit := func(_ context.Context, program, env []string) (Job, error) {
		for _, s := range states {
			j.states <- s
		}
		close(j.states)
		if len(states) > 0 && states[len(states)-1].Ended() {
			return j, nil
		}
		j.cmd = exec.Command(spec.Launcher.Path, append([]string{"-n", "2"}, program...)...)
		j.cmd.Env = append(spec.Req.Environ.Child(), env...)
		j.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the job's processes, ended together
		if err := j.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go j.cmd.Wait()
		t.Cleanup(j.kill)
		return j, nil
	}
	return submit, j
}

func (j *fakeJob) ID() string                    { return "7" }
func (j *fakeJob) States() <-chan slurm.JobState { return j.states }
func (j *fakeJob) Unfollow()                     {}
func (j *fakeJob) Output() string                { return "srun: error: no such node\n" }

func (j *fakeJob) Query(context.Context) (slurm.JobState, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.final, nil
}

func (j *fakeJob) Cancel() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cancelled = true
	j.kill()
	return nil
}

// kill ends the job's processes.
func (j *fakeJob) kill() {
	if j.cmd != nil {
		_ = syscall.Kill(-j.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// endOutside ends the job as a scancel outside the notebook does.
func (j *fakeJob) endOutside(state string) {
	j.mu.Lock()
	j.final = slurm.JobState{State: state}
	j.mu.Unlock()
	j.kill()
}

// lastProgress is the last text of the progress line out showed.
func lastProgress(out *celliotest.Recorder) string {
	d := out.Displays()
	if len(d) == 0 {
		return ""
	}
	s, _ := d[len(d)-1].Data["text/plain"].(string)
	return s
}

func TestJobStart(t *testing.T) {
	tests := []struct {
		name   string
		states []slurm.JobState
		kind   cellio.Kind // "": it starts
		want   string      // the error's value, or the last progress text
	}{
		{"pending then running", []slurm.JobState{{State: "PENDING", Reason: "Priority"}, {State: "RUNNING", Nodes: "n1"}},
			"", "%ranks: 2 ranks with px.test started in job 7 on n1 in "},
		{"running at once", nil, "", "%ranks: 2 ranks with px.test started in job 7 in "},
		{"fails before a hello", []slurm.JobState{{State: "FAILED", ExitCode: "1:0"}},
			cellio.LaunchError, "the ranks did not start: job 7 ended: FAILED (exit code 1)"},
		{"cancelled while pending", []slurm.JobState{{State: "PENDING"}, {State: "CANCELLED"}},
			cellio.LaunchError, "the ranks did not start: job 7 ended: CANCELLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := fakeSpec(t, 2)
			submit, j := fakeSubmit(t, spec, tt.states...)
			spec.Submit = submit
			out := celliotest.New()
			p, err := Start(context.Background(), fakeConfig(t), spec, out)
			if tt.kind != "" {
				if p != nil || kindOf(err) != tt.kind || err.(*cellio.Error).Value != tt.want {
					t.Fatalf("Start = %v, %v; want %s %q", p, err, tt.kind, tt.want)
				}
				if tb := strings.Join(err.(*cellio.Error).Traceback, "\n"); !strings.Contains(tb, "no such node") {
					t.Errorf("the job's output is not in the traceback:\n%s", tb)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := lastProgress(out); !strings.HasPrefix(got, tt.want) || p.JobID() != "7" {
				t.Errorf("progress %q, job %q; want %q…, job 7", got, p.JobID(), tt.want)
			}
			if err := p.Close(); err != nil || !j.cancelled {
				t.Errorf("Close = %v, cancelled %v", err, j.cancelled)
			}
		})
	}
}

func TestJobEnded(t *testing.T) {
	for _, state := range []string{"TIMEOUT", "CANCELLED"} {
		t.Run(state, func(t *testing.T) {
			spec := fakeSpec(t, 2)
			submit, j := fakeSubmit(t, spec)
			spec.Submit = submit
			p, err := Start(context.Background(), fakeConfig(t), spec, celliotest.New())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if _, ended := p.JobEnded(context.Background()); ended {
				t.Fatal("JobEnded with every rank connected")
			}
			j.endOutside(state)
			deadline := time.Now().Add(5 * time.Second)
			for live, _ := p.liveAndLost(); live > 0; live, _ = p.liveAndLost() {
				if time.Now().After(deadline) {
					t.Fatal("the ranks' connections did not close")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if s, ended := p.JobEnded(context.Background()); !ended || s.State != state {
				t.Errorf("JobEnded = %v, %v; want %s", s, ended, state)
			}
		})
	}
}

func TestStartText(t *testing.T) {
	tests := []struct {
		state slurm.JobState
		n     int
		want  string
	}{
		{slurm.JobState{State: "PENDING", Reason: "Resources"}, 0, "job 7 pending (Resources), 0 s in the queue"},
		{slurm.JobState{State: "RUNNING", Nodes: "n[1-2]"}, 1, "job 7 running on n[1-2]: 1 of 2 connected"},
		{slurm.JobState{State: "PENDING"}, 1, "job 7 running: 1 of 2 connected"}, // a hello came before the poll
	}
	for _, tt := range tests {
		p := newPool(Config{}, fakeSpec(t, 2))
		p.job, p.jobState, p.started = &fakeJob{}, tt.state, time.Now()
		if got := p.startText(report.Plural(2, "rank"), tt.n); got != tt.want {
			t.Errorf("%v, %d: %q, want %q", tt.state, tt.n, got, tt.want)
		}
	}
}

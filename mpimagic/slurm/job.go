package slurm

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	// PollEvery is how often the job's state is asked for in its first
	// pollSlowAfter; then every pollSlow, and every pollSlowest after
	// pollSlowestAfter, to spare the SLURM controller the questions of a
	// notebook whose job waits for hours. The ranks' connections say when
	// the job starts without waiting for a poll.
	PollEvery        = 500 * time.Millisecond
	pollSlowAfter    = 30 * time.Second
	pollSlow         = 2 * time.Second
	pollSlowestAfter = 5 * time.Minute
	pollSlowest      = 5 * time.Second
	// pollFast is how often it is asked for once the job should be ending.
	pollFast = 200 * time.Millisecond
	// slurmCmdTimeout bounds one sbatch, scontrol, squeue, sacct or scancel.
	slurmCmdTimeout = 30 * time.Second
)

// JobState is what SLURM says about a job.
type JobState struct {
	State    string // JobState: PENDING, RUNNING, COMPLETED, ... ("" unknown)
	Reason   string // why it is pending (Resources, Priority, ...), "" for None
	Nodes    string // NodeList, e.g. n[1-2]; "" before it runs
	ExitCode string // "0:0" (exit status:signal); "" unknown
	// Gone: SLURM no longer knows the job (it ended more than MinJobAge
	// ago, or never existed).
	Gone bool
}

// terminalStates are the states of a job that has ended.
var terminalStates = map[string]bool{
	"COMPLETED": true, "CANCELLED": true, "FAILED": true, "TIMEOUT": true, "NODE_FAIL": true,
	"PREEMPTED": true, "BOOT_FAIL": true, "DEADLINE": true, "OUT_OF_MEMORY": true,
	"REVOKED": true, "SPECIAL_EXIT": true,
}

// Ended reports whether the job has Ended (or SLURM forgot it).
func (s JobState) Ended() bool { return s.Gone || terminalStates[s.State] }

// Started reports whether the job has begun running: it runs, or it ended
// on nodes (a job cancelled while pending ended on none).
func (s JobState) Started() bool {
	switch s.State {
	case "", "PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING":
		return false
	case "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING":
		return true
	}
	return s.Nodes != ""
}

// Describe is the state for the progress line, e.g. "pending (Resources)",
// "running on n[1-2]".
func (s JobState) Describe() string {
	state := strings.ToLower(s.State)
	if state == "" {
		state = "in an unknown state"
	}
	switch {
	case s.State == "PENDING" && s.Reason != "":
		return state + " (" + s.Reason + ")"
	case s.State == "RUNNING" && s.Nodes != "":
		return state + " on " + s.Nodes
	}
	return state
}

// Final is the job's Final state for messages, e.g. "COMPLETED",
// "FAILED (exit code 3)", "CANCELLED".
func (s JobState) Final() string {
	state := s.State
	if state == "" {
		return "ended (final state unknown: SLURM no longer knows the job and sacct has no record of it)"
	}
	code, sig, _ := strings.Cut(s.ExitCode, ":")
	switch {
	case state == "COMPLETED" || state == "CANCELLED" || state == "TIMEOUT":
	case sig != "" && sig != "0":
		state += " (signal " + sig + ")"
	case code != "" && code != "0":
		state += " (exit code " + code + ")"
	}
	return state
}

// scontrolKey matches the start of a "Key=" field of scontrol's output.
var scontrolKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_/:]*=`)

// parseScontrol reads the Key=Value fields of `scontrol -o show job ID`.
// A word that does not start a field belongs to the value before it
// (values may hold spaces: a WorkDir, a Comment).
func parseScontrol(out string) map[string]string {
	fields := map[string]string{}
	key := ""
	for _, w := range strings.Fields(out) {
		if loc := scontrolKey.FindStringIndex(w); loc != nil {
			key = w[:loc[1]-1]
			fields[key] = w[loc[1]:]
			continue
		}
		if key != "" {
			fields[key] += " " + w
		}
	}
	return fields
}

// scontrolState turns the fields of `scontrol -o show job` into a jobState.
func scontrolState(f map[string]string) JobState {
	s := JobState{State: f["JobState"], Reason: f["Reason"], Nodes: f["NodeList"], ExitCode: f["ExitCode"]}
	if s.Reason == "None" || s.Reason == "(null)" {
		s.Reason = ""
	}
	if s.Nodes == "(null)" {
		s.Nodes = ""
	}
	return s
}

// parseSqueue reads `squeue -h -j ID -o %T|%r|%N`; ok is false when the
// output holds no line for the job (it has left the queue).
func parseSqueue(out string) (s JobState, ok bool) {
	line := strings.TrimSpace(out)
	if line == "" {
		return JobState{}, false
	}
	line, _, _ = strings.Cut(line, "\n")
	parts := strings.SplitN(line, "|", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	s = JobState{State: parts[0], Reason: parts[1], Nodes: parts[2]}
	if s.Reason == "None" || s.Reason == "(null)" {
		s.Reason = ""
	}
	return s, true
}

// parseSacct reads `sacct -n -X -P -j ID -o State,ExitCode,NodeList`:
// "CANCELLED by 0|0:15|n1". ok is false without a line.
func parseSacct(out string) (s JobState, ok bool) {
	for _, line := range strings.Split(out, "\n") {
		parts := strings.Split(strings.TrimSpace(line), "|")
		if len(parts) < 2 || parts[0] == "" {
			continue
		}
		state, _, _ := strings.Cut(parts[0], " ") // "CANCELLED by 1000"
		s = JobState{State: state, ExitCode: parts[1]}
		if len(parts) > 2 && parts[2] != "None assigned" {
			s.Nodes = parts[2]
		}
		return s, true
	}
	return JobState{}, false
}

// JobID reads the job id that sbatch --parsable prints: "ID" or
// "ID;CLUSTER".
func JobID(out string) (string, error) {
	line := strings.TrimSpace(out)
	if i := strings.LastIndexByte(line, '\n'); i >= 0 { // messages before it
		line = strings.TrimSpace(line[i+1:])
	}
	id, _, _ := strings.Cut(line, ";")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil || id == "" {
		return "", fmt.Errorf("sbatch --parsable printed %q, not a job id", strings.TrimSpace(out))
	}
	return id, nil
}

// invalidJob reports whether a scontrol or squeue error says the job is
// unknown to SLURM.
func invalidJob(text string) bool {
	return strings.Contains(strings.ToLower(text), "invalid job id")
}

// ClientEnv is the environment of sbatch, scontrol, squeue, sacct and
// scancel: env (the kernel's, cleared of another MPI job's variables:
// environ.Env.Child), without what would tie the new job to an allocation
// the kernel may run in (SLURM_* but SLURM_CONF).
func ClientEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "SLURM_") && !strings.HasPrefix(kv, "SLURM_CONF=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Command runs a SLURM command and returns its stdout, or an error that
// holds what it wrote on stderr.
func Command(ctx context.Context, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, slurmCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg == "" {
			msg = err.Error()
		}
		return stdout.String(), fmt.Errorf("%s: %s", name, msg)
	}
	return stdout.String(), nil
}

// Query asks SLURM for the state of job id: scontrol (squeue where
// there is no scontrol: haveScontrol is false); for a job SLURM no longer
// knows, sacct.
func Query(ctx context.Context, env []string, id string, haveScontrol bool) (JobState, error) {
	var s JobState
	if haveScontrol {
		out, err := Command(ctx, env, "scontrol", "-o", "show", "job", id)
		switch {
		case err == nil:
			s = scontrolState(parseScontrol(out))
			if s.State != "" {
				return s, nil
			}
			return s, fmt.Errorf("scontrol show job %s printed no JobState: %q", id, strings.TrimSpace(out))
		case !invalidJob(err.Error()):
			return s, err
		}
	} else {
		out, err := Command(ctx, env, "squeue", "-h", "-j", id, "-o", "%T|%r|%N")
		switch {
		case err == nil:
			if st, ok := parseSqueue(out); ok {
				return st, nil
			}
		case !invalidJob(err.Error()):
			return s, err
		}
	}
	// SLURM has forgotten the job (or, for squeue, it left the queue):
	// accounting may know how it ended.
	s = JobState{Gone: true}
	if out, err := Command(ctx, env, "sacct", "-n", "-X", "-P", "-j", id, "-o", "State,ExitCode,NodeList"); err == nil {
		if st, ok := parseSacct(out); ok {
			st.Gone = true
			return st, nil
		}
	}
	return s, nil
}

// Poller asks for a job's state in a loop and passes on each answer.
type Poller struct {
	States chan JobState
	Errs   chan error
	hurry  chan struct{}
	quit   chan struct{}
	cancel context.CancelFunc // kills a query in progress
	done   chan struct{}      // closed when the loop has returned
}

// StartPoller polls job id until stop; hurry makes the polls more frequent.
func StartPoller(env []string, id string, haveScontrol bool) *Poller {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Poller{States: make(chan JobState, 1), Errs: make(chan error, 1), hurry: make(chan struct{}, 1), quit: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		start, fast := time.Now(), false
		for {
			s, err := Query(ctx, env, id, haveScontrol)
			if err != nil {
				select {
				case p.Errs <- err:
				default:
				}
			} else {
				select { // keep only the latest state
				case <-p.States:
				default:
				}
				p.States <- s
				if s.Ended() {
					return
				}
			}
			every := pollInterval(time.Since(start))
			if fast {
				every = pollFast
			}
			select {
			case <-p.quit:
				return
			case <-p.hurry:
				fast = true
			case <-time.After(every):
			}
		}
	}()
	return p
}

// pollInterval is the time between two polls, age after the first.
func pollInterval(age time.Duration) time.Duration {
	switch {
	case age >= pollSlowestAfter:
		return pollSlowest
	case age >= pollSlowAfter:
		return pollSlow
	}
	return PollEvery
}

// Faster makes the polls more frequent (the job should be ending).
func (p *Poller) Faster() {
	select {
	case p.hurry <- struct{}{}:
	default:
	}
}

// Stop ends the polls and returns once no query runs any more (one in
// progress is killed): nothing the poller started outlives it.
func (p *Poller) Stop() {
	close(p.quit)
	p.cancel()
	<-p.done
}

// Waited says how long a job has been waiting, to the second in its first
// minute, then to the minute: "0 s", "42 s", "3 min", "2 h 05 min".
func Waited(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
}

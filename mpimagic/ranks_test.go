package mpimagic

import (
	"context"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

func TestParsePx(t *testing.T) {
	tests := []struct {
		args  []string
		ranks []int
		out   string
		help  bool
		err   string
	}{
		{nil, nil, "", false, ""},
		{[]string{"--ranks", "3,0-1,1"}, []int{0, 1, 3}, "", false, ""},
		{[]string{"--out", "xs"}, nil, "xs", false, ""},
		{[]string{"--help"}, nil, "", true, ""},
		{[]string{"--ranks", "2-1"}, nil, "", false, `--ranks "2-1": want ranks`},
		{[]string{"--out", "x-y"}, nil, "", false, `--out "x-y": want a Go identifier`},
		{[]string{"extra"}, nil, "", false, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, help, err := parsePx(tt.args)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || help != tt.help || !reflect.DeepEqual(c.Ranks, tt.ranks) || c.Out != tt.out {
				t.Errorf("parsePx = %+v, %v, %v", c, help, err)
			}
		})
	}
}

func TestRanksUsage(t *testing.T) {
	m := New(Config{Environ: testEnviron, Logger: quietLog})
	defer m.Close()
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func(out cellio.Output) error
		kind  cellio.Kind
		value string
	}{
		{"px without ranks", func(out cellio.Output) error {
			_, err := m.Px(ctx, 1, nil, "x := 1", out)
			return err
		}, cellio.UsageError, "no ranks run"},
		{"sbatch without sbatch", func(out cellio.Output) error {
			noSlurm := New(Config{Environ: func() []string { return []string{"PATH=/nonexistent"} }, Logger: quietLog})
			defer noSlurm.Close()
			return noSlurm.Ranks(ctx, []string{"start", "-n", "2", "--sbatch"}, out)
		}, cellio.UsageError, "--sbatch runs the ranks as a SLURM batch job, but there is no sbatch command"},
		{"sbatch with --hosts", func(out cellio.Output) error {
			return m.Ranks(ctx, []string{"start", "-n", "2", "--sbatch", "--hosts", "a:2"}, out)
		}, cellio.UsageError, "--hosts and --hostfile choose the hosts of a launch here"},
		{"timeout", func(out cellio.Output) error {
			return m.Ranks(ctx, []string{"start", "-n", "2", "--timeout", "5"}, out)
		}, cellio.UsageError, "%ranks start takes the launch flags"},
		{"unknown", func(out cellio.Output) error { return m.Ranks(ctx, []string{"go"}, out) }, cellio.UsageError, "%ranks: unknown command"},
		{"restart before start", func(out cellio.Output) error { return m.Ranks(ctx, []string{"restart"}, out) }, cellio.UsageError, "no ranks were started"},
		{"no builder", func(out cellio.Output) error {
			return m.Ranks(ctx, []string{"start", "-n", "2"}, out)
		}, cellio.MagicError, "%ranks: this mpigo cannot build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath("mpirun"); err != nil && tt.kind == cellio.MagicError {
				t.Fatal("no mpirun (install/setup.sh installs Open MPI): the launcher would be missing before the builder")
			}
			err := tt.run(celliotest.New())
			var ce *cellio.Error
			if !errors.As(err, &ce) || ce.Name != tt.kind || !strings.HasPrefix(ce.Value, tt.value) {
				t.Errorf("error %v, want %s %q", err, tt.kind, tt.value)
			}
		})
	}
	rec := celliotest.New()
	if err := m.Ranks(ctx, nil, rec); err != nil || !strings.Contains(rec.Text("stdout"), "no ranks run") {
		t.Errorf("%%ranks: %v %q", err, rec.Text("stdout"))
	}
}

func TestRanksJobScript(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"the rank interpreter, no wrapper", Options{N: 2, Sbatch: true, Batch: slurm.Batch{Time: "2"}},
			[]string{"#SBATCH --job-name=mpigo-ranks\n#SBATCH --ntasks=2\n", "#SBATCH --time=2\n", "# %ranks start --sbatch, written by mpigo",
				"export MPIGO_PX='10.0.0.1:4000;tok;login1'\n", "\nexec srun --mpi=pmix -n 2 --kill-on-bad-exit=1 /c/interp pxrank\n"}},
		{"-p, -N, --account", Options{N: 4, Sbatch: true, Batch: slurm.Batch{Partition: "debug", Nodes: "2", Account: "a"}},
			[]string{"#SBATCH --partition=debug\n#SBATCH --nodes=2\n#SBATCH --account=a\n"}},
	}
	for _, tt := range tests {
		s := batchScript(batchSpec{opts: tt.opts, name: ranksJobName, cellName: "%ranks start", output: "o", env: []string{"MPIGO_PX=10.0.0.1:4000;tok;login1"},
			mpi: "pmix", program: []string{"/c/interp", "pxrank"}})
		for _, want := range tt.want {
			if !strings.Contains(s, want) {
				t.Errorf("%s: the script lacks %q:\n%s", tt.name, want, s)
			}
		}
		if strings.Contains(s, " -- ") || strings.Contains(s, "%mpirun") {
			t.Errorf("%s: the script runs a wrapper or says it is a cell's:\n%s", tt.name, s)
		}
	}
}

func TestJobEndedError(t *testing.T) {
	tests := []struct {
		state slurm.JobState
		kind  cellio.Kind
		value string
	}{
		{slurm.JobState{State: "TIMEOUT"}, cellio.Timeout, "the ranks' job 9 reached its time limit and SLURM stopped it (TIMEOUT)"},
		{slurm.JobState{State: "CANCELLED"}, cellio.Cancelled, "the ranks' job 9 was cancelled outside this notebook (scancel, or by an administrator) (CANCELLED)"},
		{slurm.JobState{State: "NODE_FAIL", ExitCode: "0:9"}, cellio.Cancelled, "the ranks' job 9 ended (NODE_FAIL (signal 9))"},
	}
	for _, tt := range tests {
		err := jobEndedError("9", tt.state)
		if err.Name != tt.kind || !strings.HasPrefix(err.Value, tt.value+": the ranks are gone") {
			t.Errorf("%v: %s %q, want %s %q", tt.state, err.Name, err.Value, tt.kind, tt.value)
		}
	}
}

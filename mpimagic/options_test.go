package mpimagic

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

func TestParseMagic(t *testing.T) {
	tests := []struct {
		args []string
		want Options
		err  string // substring of the error; "" for none
	}{
		{args: []string{"-n", "4"}, want: Options{N: 4, Launcher: "auto"}},
		{args: []string{"-np", "3"}, want: Options{N: 3, Launcher: "auto"}},
		{args: []string{"--n=2", "--timeout", "5m", "--verbose"}, want: Options{N: 2, Launcher: "auto", Timeout: 5 * time.Minute, Verbose: true}},
		{args: []string{"-n", "2", "--timeout", "1.5"}, want: Options{N: 2, Launcher: "auto", Timeout: 1500 * time.Millisecond}},
		{args: []string{"-n", "8", "--hosts", "a:4,b:4", "--launcher", "mpirun"}, want: Options{N: 8, Launcher: "mpirun", Hosts: "a:4,b:4"}},
		{args: []string{"-n", "2", "--hostfile", "hf", "--launcher", "srun"}, want: Options{N: 2, Launcher: "srun", Hostfile: "hf"}},
		{args: []string{"-n", "2", "--launcher", "/opt/x/bin/mpirun.mpich"}, want: Options{N: 2, Launcher: "/opt/x/bin/mpirun.mpich"}},
		{args: []string{"-n", "2", "--env", "A=1", "--env", "B=x=y"}, want: Options{N: 2, Launcher: "auto", Env: []string{"A=1", "B=x=y"}}},
		{args: []string{"-n", "2", "--", "--bind-to", "core", "-x", "FOO"}, want: Options{N: 2, Launcher: "auto", LauncherArgs: []string{"--bind-to", "core", "-x", "FOO"}}},
		{args: []string{"--help"}, want: Options{Help: true}},
		{args: []string{"-h"}, want: Options{Help: true}},

		{args: nil, err: "missing -n"},
		{args: []string{"-n", "0"}, err: "at least 1"},
		{args: []string{"-n", "-3"}, err: "at least 1"},
		{args: []string{"-n", "four"}, err: "invalid value"},
		{args: []string{"-n", "2", "--bogus"}, err: "flag provided but not defined: -bogus"},
		{args: []string{"-n", "2", "extra"}, err: "after --"},
		{args: []string{"-n", "2", "--timeout", "soon"}, err: "--timeout"},
		{args: []string{"-n", "2", "--timeout", "0"}, err: "positive"},
		{args: []string{"-n", "2", "--env", "NOEQUALS"}, err: "want K=V"},
		{args: []string{"-n", "2", "--hosts", "a", "--hostfile", "f"}, err: "do not go together"},
		{args: []string{"-n", "2", "--launcher", "slurm"}, err: "--launcher"},
		{args: []string{"-n", "2", "--sbatch", "-p", "debug", "-t", "10", "-N", "2", "--account", "x", "--", "--mem=1G"},
			want: Options{N: 2, Launcher: "auto", Sbatch: true, Batch: slurm.Batch{Partition: "debug", Time: "10", Nodes: "2", Account: "x"}, LauncherArgs: []string{"--mem=1G"}}},
		{args: []string{"-n", "2", "--sbatch", "--launcher", "srun", "--timeout", "30s"}, want: Options{N: 2, Launcher: "srun", Sbatch: true, Timeout: 30 * time.Second}},
		{args: []string{"-n", "2", "--sbatch", "--export", "out"}, err: "--sbatch and --export do not go together"},
		{args: []string{"-n", "2", "--sbatch", "--hosts", "a:2"}, err: "with --sbatch SLURM chooses the nodes: use -N"},
		{args: []string{"-n", "2", "--sbatch", "--hostfile", "hf"}, err: "with --sbatch SLURM chooses the nodes"},
		{args: []string{"-n", "2", "--sbatch", "--launcher", "mpirun"}, err: "the batch job starts its ranks with srun"},
		{args: []string{"-n", "2", "--sbatch", "--env", "A-B=1"}, err: "not a name a shell can export"},
		{args: []string{"-n", "2", "--sbatch", "-t", "soon"}, err: "-t \"soon\": want a SLURM time limit"},
		{args: []string{"-n", "2", "--sbatch", "-p", "a\n#SBATCH --mem=1T"}, err: "-p"},
		{args: []string{"-n", "2", "-p", "debug"}, err: "-p goes with --export (or --sbatch) only"},
		{args: []string{"-n", "2", "--account", "a"}, err: "--account goes with --export"},
		{args: []string{"-n", "2", "--export", ""}, err: "--export needs a directory"},
		{args: []string{"-n", "2", "--export", "out", "-t", "soon"}, err: "-t \"soon\": want a SLURM time limit"},
		{args: []string{"-n", "2", "--export", "out", "-N", "0"}, err: "-N \"0\""},
		{args: []string{"-n", "2", "--export", "out", "-p", "a b"}, err: "-p \"a b\""},
		{args: []string{"-n", "2", "--export", "out", "--account", "x\n#SBATCH --mem=1T"}, err: "--account"},
		{args: []string{"-n", "4", "--export", "out"}, want: Options{N: 4, Launcher: "auto", Export: "out"}},
		{args: []string{"-n", "4", "--export", "out", "--vendor"}, want: Options{N: 4, Launcher: "auto", Export: "out", Vendor: true}},
		{args: []string{"-n", "4", "--vendor"}, err: "--vendor goes with --export only"},
		{args: []string{"-n", "4", "--export", "out", "-p", "debug,long", "-t", "1-02:00:00", "-N", "2-4", "--account", "proj_1", "--", "-x", "A"},
			want: Options{N: 4, Launcher: "auto", Export: "out", Batch: slurm.Batch{Partition: "debug,long", Time: "1-02:00:00", Nodes: "2-4", Account: "proj_1"}, LauncherArgs: []string{"-x", "A"}}},
		{args: []string{"-n", "1", "--export=d", "-t", "30"}, want: Options{N: 1, Launcher: "auto", Export: "d", Batch: slurm.Batch{Time: "30"}}},
		{args: []string{"-n", "4", "--out", "sums"}, want: Options{N: 4, Launcher: "auto", Out: "sums"}},
		{args: []string{"-n", "4", "--out=pts", "--timeout", "5s"}, want: Options{N: 4, Launcher: "auto", Out: "pts", Timeout: 5 * time.Second}},
		{args: []string{"-n", "4", "--out", "2x"}, err: "--out \"2x\": want a Go identifier"},
		{args: []string{"-n", "4", "--out", "_"}, err: "want a Go identifier"},
		{args: []string{"-n", "4", "--out", "a.b"}, err: "want a Go identifier"},
		{args: []string{"-n", "4", "--out", "x", "--export", "d"}, err: "--out does not go with --export"},
		{args: []string{"-n", "4", "--out", "x", "--sbatch"}, err: "--out does not go with --sbatch"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.args, ModeMagic, environ.Env{}) // outside any allocation, whatever the shell
		if tt.err != "" {
			var ue *UsageError
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.As(err, &ue) || ue.Usage != MagicUsage {
				t.Errorf("Parse(%q) error = %v, want a UsageError with %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestParseDefaultsToSlurmTasks(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string // SLURM_NTASKS, SLURM_STEP_ID, SLURM_JOB_CPUS_PER_NODE
		want int               // 0: an error
	}{
		{"salloc -n 6", map[string]string{"SLURM_NTASKS": "6", "SLURM_JOB_CPUS_PER_NODE": "6"}, 6},
		{"salloc -n 1 -c 4", map[string]string{"SLURM_NTASKS": "1", "SLURM_JOB_CPUS_PER_NODE": "4"}, 1},
		{"batch script", map[string]string{"SLURM_NTASKS": "4", "SLURM_STEP_ID": "batch", "SLURM_JOB_CPUS_PER_NODE": "2(x2)"}, 4},
		// batchspawner: the server runs in a one-task step of a bigger job
		{"inside a step", map[string]string{"SLURM_NTASKS": "1", "SLURM_STEP_ID": "0", "SLURM_JOB_CPUS_PER_NODE": "4(x2)"}, 8},
		{"malformed", map[string]string{"SLURM_NTASKS": "lots"}, 0},
		{"no allocation", map[string]string{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env []string
			for k, v := range tt.env {
				env = append(env, k+"="+v)
			}
			o, err := Parse(nil, ModeMagic, environ.New(env...))
			switch {
			case tt.want == 0 && err == nil:
				t.Fatalf("Parse = %+v, want an error", o)
			case tt.want != 0 && (err != nil || o.N != tt.want):
				t.Fatalf("Parse = %+v, %v; want N %d", o, err, tt.want)
			}
		})
	}
}

func TestParseRun(t *testing.T) {
	o, err := Parse([]string{"-n", "4", "--launcher-arg", "--bind-to", "--launcher-arg", "core", "prog.go", "-v", "x"}, ModeRun, environ.Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{N: 4, Launcher: "auto", LauncherArgs: []string{"--bind-to", "core"}, Target: "prog.go", ProgramArgs: []string{"-v", "x"}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v, want %+v", o, want)
	}
	for _, args := range [][]string{{"-n", "2"}, {"-n", "2", "--sbatch", "x.go"}, {"-n", "2", "--export", "d", "x.go"}} {
		if _, err := Parse(args, ModeRun, environ.Env{}); err == nil {
			t.Errorf("Parse(%q, ModeRun) accepted", args)
		}
	}
}

package mpimagic

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMagic(t *testing.T) {
	t.Setenv("SLURM_NTASKS", "")
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
		{args: []string{"-n", "2", "--sbatch", "-p", "debug", "-t", "10", "-N", "2", "--account", "x"}, err: "needs a SLURM cluster"},
		{args: []string{"-n", "2", "--sbatch", "--export", "out"}, err: "needs a SLURM cluster"},
		{args: []string{"-n", "2", "-p", "debug"}, err: "-p goes with --export (or --sbatch) only"},
		{args: []string{"-n", "2", "--account", "a"}, err: "--account goes with --export"},
		{args: []string{"-n", "2", "--export", ""}, err: "--export needs a directory"},
		{args: []string{"-n", "2", "--export", "out", "-t", "soon"}, err: "-t \"soon\": want a SLURM time limit"},
		{args: []string{"-n", "2", "--export", "out", "-N", "0"}, err: "-N \"0\""},
		{args: []string{"-n", "2", "--export", "out", "-p", "a b"}, err: "-p \"a b\""},
		{args: []string{"-n", "2", "--export", "out", "--account", "x\n#SBATCH --mem=1T"}, err: "--account"},
		{args: []string{"-n", "4", "--export", "out"}, want: Options{N: 4, Launcher: "auto", Export: "out"}},
		{args: []string{"-n", "4", "--export", "out", "-p", "debug,long", "-t", "1-02:00:00", "-N", "2-4", "--account", "proj_1", "--", "-x", "A"},
			want: Options{N: 4, Launcher: "auto", Export: "out", Batch: Batch{Partition: "debug,long", Time: "1-02:00:00", Nodes: "2-4", Account: "proj_1"}, LauncherArgs: []string{"-x", "A"}}},
		{args: []string{"-n", "1", "--export=d", "-t", "30"}, want: Options{N: 1, Launcher: "auto", Export: "d", Batch: Batch{Time: "30"}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.args, ModeMagic)
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
	t.Setenv("SLURM_NTASKS", "6")
	o, err := Parse(nil, ModeMagic)
	if err != nil || o.N != 6 {
		t.Fatalf("Parse in an allocation = %+v, %v; want N 6", o, err)
	}
	t.Setenv("SLURM_NTASKS", "lots")
	if _, err := Parse(nil, ModeMagic); err == nil {
		t.Fatal("a malformed SLURM_NTASKS was accepted")
	}
}

func TestParseRun(t *testing.T) {
	t.Setenv("SLURM_NTASKS", "")
	o, err := Parse([]string{"-n", "4", "--launcher-arg", "--bind-to", "--launcher-arg", "core", "prog.go", "-v", "x"}, ModeRun)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{N: 4, Launcher: "auto", LauncherArgs: []string{"--bind-to", "core"}, Target: "prog.go", ProgramArgs: []string{"-v", "x"}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v, want %+v", o, want)
	}
	for _, args := range [][]string{{"-n", "2"}, {"-n", "2", "--sbatch", "x.go"}, {"-n", "2", "--export", "d", "x.go"}} {
		if _, err := Parse(args, ModeRun); err == nil {
			t.Errorf("Parse(%q, ModeRun) accepted", args)
		}
	}
}

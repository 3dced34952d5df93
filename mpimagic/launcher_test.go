package mpimagic

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLauncherCommand(t *testing.T) {
	spec := launchSpec{wrapper: []string{"/bin/mpigo", "rankio"}, program: []string{"/c/prog", "arg"}, env: []string{"MPIGO_RANKIO=x", "K=V"}, cores: 2}
	ompi := &launcher{kind: "mpirun", path: "/usr/bin/mpirun", flavour: flavourOpenMPI}
	mpich := &launcher{kind: "mpirun", path: "/usr/bin/mpirun.mpich", flavour: flavourMPICH}
	srun := &launcher{kind: "srun", path: "/usr/bin/srun"}
	tail := []string{"/bin/mpigo", "rankio", "--", "/c/prog", "arg"}
	tests := []struct {
		name string
		l    *launcher
		o    Options
		euid int
		argv []string
		env  []string
	}{
		{"Open MPI within the cores", ompi, Options{N: 2}, 1000,
			append([]string{"/usr/bin/mpirun", "-n", "2", "-x", "MPIGO_RANKIO", "-x", "K"}, tail...), spec.env},
		{"Open MPI oversubscribed, as root, with launcher args", ompi, Options{N: 32, LauncherArgs: []string{"--bind-to", "none"}}, 0,
			append([]string{"/usr/bin/mpirun", "-n", "32", "--oversubscribe", "-x", "MPIGO_RANKIO", "-x", "K", "--bind-to", "none"}, tail...),
			append([]string{"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"}, spec.env...)},
		{"Open MPI on hosts", ompi, Options{N: 8, Hosts: "a:4,b:4"}, 1000,
			append([]string{"/usr/bin/mpirun", "-n", "8", "--host", "a:4,b:4", "-x", "MPIGO_RANKIO", "-x", "K"}, tail...), spec.env},
		{"MPICH with a hostfile", mpich, Options{N: 8, Hostfile: "hf"}, 0,
			append([]string{"/usr/bin/mpirun.mpich", "-n", "8", "-f", "hf"}, tail...), spec.env},
		{"MPICH oversubscribed needs nothing", mpich, Options{N: 32}, 0,
			append([]string{"/usr/bin/mpirun.mpich", "-n", "32"}, tail...), spec.env},
		{"srun", srun, Options{N: 4, Hosts: "n1:2,n2:2"}, 0,
			append([]string{"/usr/bin/srun", "-n", "4", "--kill-on-bad-exit=1", "--nodelist=n1,n2"}, tail...), spec.env},
	}
	t.Setenv("SLURM_STEP_ID", "")
	t.Setenv("SLURM_STEPID", "")
	for _, tt := range tests {
		s := spec
		s.euid = tt.euid
		argv, env := tt.l.command(tt.o, s)
		if !reflect.DeepEqual(argv, tt.argv) || !reflect.DeepEqual(env, tt.env) {
			t.Errorf("%s:\n got %q %q\nwant %q %q", tt.name, argv, env, tt.argv, tt.env)
		}
	}
	t.Setenv("SLURM_STEP_ID", "0")
	if argv, _ := srun.command(Options{N: 2}, spec); argv[1] != "--overlap" {
		t.Errorf("srun inside a job step: %q, want --overlap", argv)
	}
}

func TestLauncherEnv(t *testing.T) {
	env := []string{"PATH=/bin", "OMPI_MCA_btl=self", "OMPI_ALLOW_RUN_AS_ROOT=1", "PMIX_SERVER_URI=x", "PMI_FD=3", "MPIGO_RANKIO=a;b", "HOME=/root"}
	want := []string{"PATH=/bin", "OMPI_MCA_btl=self", "HOME=/root"}
	if got := launcherEnv(env); !reflect.DeepEqual(got, want) {
		t.Errorf("launcherEnv = %q, want %q", got, want)
	}
	// inside an MPI job even the MCA settings are the job's, not the user's
	env = append(env, "OMPI_COMM_WORLD_RANK=0")
	want = []string{"PATH=/bin", "HOME=/root"}
	if got := launcherEnv(env); !reflect.DeepEqual(got, want) {
		t.Errorf("launcherEnv in a job = %q, want %q", got, want)
	}
	if got := mergeEnv([]string{"A=1", "B=2"}, []string{"B=3", "C=4"}); !reflect.DeepEqual(got, []string{"A=1", "B=3", "C=4"}) {
		t.Errorf("mergeEnv = %q", got)
	}
}

func TestExplainLauncher(t *testing.T) {
	o := Options{N: 8}
	l := &launcher{kind: "mpirun", path: "/usr/bin/mpirun", flavour: flavourOpenMPI}
	for text, want := range map[string]string{
		"There are not enough slots available in the system to satisfy the 8\nslots": "fewer slots",
		"ssh: Could not resolve hostname nodeX":                                      "ssh",
		"MPI_ABORT was invoked on rank 1 in communicator MPI_COMM_WORLD":             "MPI_Abort",
		"everything is fine": "",
	} {
		got := explainLauncher(text, o, l, 2)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("explainLauncher(%q) = %q, want %q", text, got, want)
		}
	}
}

// fakeMpirun writes an executable script named name into dir that prints
// version for --version.
func fakeMpirun(t *testing.T, dir, name, version string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\nprintf '%s\\n' '"+version+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindLauncher(t *testing.T) {
	dir := t.TempDir()
	fakeMpirun(t, dir, "mpirun", "mpirun (Open MPI) 4.1.4")
	fakeMpirun(t, dir, "mpirun.mpich", "HYDRA build details:\n    Version:  4.0.2")
	fakeMpirun(t, dir, "srun", "slurm 23.02")
	t.Setenv("PATH", dir)
	t.Setenv("MPIGO_MPIRUN", "")
	ctx := context.Background()
	get := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		choice  string
		env     map[string]string
		kind    string
		path    string
		flavour string
	}{
		{"auto", nil, "mpirun", "mpirun", flavourOpenMPI},
		{"auto", map[string]string{"SLURM_JOB_ID": "42"}, "srun", "srun", flavourOpenMPI},
		{"mpirun", map[string]string{"SLURM_JOB_ID": "42"}, "mpirun", "mpirun", flavourOpenMPI},
		{"mpirun.mpich", nil, "mpirun", "mpirun.mpich", flavourMPICH},
		{"auto", map[string]string{"MPIGO_MPIRUN": "mpirun.mpich"}, "mpirun", "mpirun.mpich", flavourMPICH},
	}
	for _, tt := range tests {
		l, err := findLauncher(ctx, tt.choice, get(tt.env))
		if err != nil {
			t.Errorf("findLauncher(%q, %v): %v", tt.choice, tt.env, err)
			continue
		}
		if l.kind != tt.kind || filepath.Base(l.path) != tt.path || l.flavour != tt.flavour {
			t.Errorf("findLauncher(%q, %v) = %+v", tt.choice, tt.env, l)
		}
	}
	if _, err := findLauncher(ctx, "mpiexec.none", get(nil)); err == nil || !strings.Contains(err.Error(), "no mpiexec.none found") {
		t.Errorf("a missing mpirun: %v", err)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"go", "build", "-ldflags=-s -w", "it's", "", "a=b,c:d/e"})
	if want := `go build '-ldflags=-s -w' 'it'\''s' '' a=b,c:d/e`; got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}

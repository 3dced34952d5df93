package launch

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
)

func TestLauncherCommand(t *testing.T) {
	spec := commandSpec{wrapper: []string{"/bin/mpigo", "rankio"}, program: []string{"/c/prog", "arg"}, env: []string{"MPIGO_RANKIO=x", "K=V"}, cores: 2}
	ompi := &Launcher{Kind: "mpirun", Path: "/usr/bin/mpirun", Flavour: build.OpenMPI}
	mpich := &Launcher{Kind: "mpirun", Path: "/usr/bin/mpirun.mpich", Flavour: build.MPICH}
	srun := &Launcher{Kind: "srun", Path: "/usr/bin/srun"}
	pmix := &Launcher{Kind: "srun", Path: "/usr/bin/srun", MPIPlugin: "pmix"}
	stepped := &Launcher{Kind: "srun", Path: "/usr/bin/srun", MPIPlugin: "pmix", InStep: true}
	tail := []string{"/bin/mpigo", "rankio", "--", "/c/prog", "arg"}
	tests := []struct {
		name string
		l    *Launcher
		o    Request
		euid int
		argv []string
		env  []string
	}{
		{"Open MPI within the cores", ompi, Request{N: 2}, 1000,
			append([]string{"/usr/bin/mpirun", "-n", "2", "-x", "MPIGO_RANKIO", "-x", "K"}, tail...), spec.env},
		{"Open MPI oversubscribed, as root, with launcher args", ompi, Request{N: 32, LauncherArgs: []string{"--bind-to", "none"}}, 0,
			append([]string{"/usr/bin/mpirun", "-n", "32", "--oversubscribe", "-x", "MPIGO_RANKIO", "-x", "K", "--bind-to", "none"}, tail...),
			append([]string{"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"}, spec.env...)},
		{"Open MPI on hosts", ompi, Request{N: 8, Hosts: "a:4,b:4"}, 1000,
			append([]string{"/usr/bin/mpirun", "-n", "8", "--host", "a:4,b:4", "-x", "MPIGO_RANKIO", "-x", "K"}, tail...), spec.env},
		{"MPICH with a hostfile", mpich, Request{N: 8, Hostfile: "hf"}, 0,
			append([]string{"/usr/bin/mpirun.mpich", "-n", "8", "-f", "hf"}, tail...), spec.env},
		{"MPICH oversubscribed needs nothing", mpich, Request{N: 32}, 0,
			append([]string{"/usr/bin/mpirun.mpich", "-n", "32"}, tail...), spec.env},
		{"srun", srun, Request{N: 4, Hosts: "n1:2,n2:2"}, 0,
			append([]string{"/usr/bin/srun", "-n", "4", "--kill-on-bad-exit=1", "--nodelist=n1,n2"}, tail...), spec.env},
		{"srun with a plugin", pmix, Request{N: 4}, 0,
			append([]string{"/usr/bin/srun", "-n", "4", "--mpi=pmix", "--kill-on-bad-exit=1"}, tail...), spec.env},
		{"srun, the user's --mpi wins", pmix, Request{N: 4, LauncherArgs: []string{"--mpi=pmi2"}}, 0,
			append([]string{"/usr/bin/srun", "-n", "4", "--kill-on-bad-exit=1", "--mpi=pmi2"}, tail...), spec.env},
		{"Open MPI inside a job step: its srun may overlap", &Launcher{Kind: "mpirun", Path: "/usr/bin/mpirun", Flavour: build.OpenMPI, InStep: true}, Request{N: 2}, 1000,
			append([]string{"/usr/bin/mpirun", "-n", "2", "-x", "MPIGO_RANKIO", "-x", "K"}, tail...), append([]string{"SLURM_OVERLAP=1"}, spec.env...)},
		{"Open MPI in an allocation: slots are not CPUs", ompi, Request{N: 2, LauncherArgs: []string{"--bind-to", "none"}}, 1000,
			append([]string{"/usr/bin/mpirun", "-n", "2", "--oversubscribe", "-x", "MPIGO_RANKIO", "-x", "K", "--bind-to", "none"}, tail...), spec.env},
		{"srun inside a job step", stepped, Request{N: 4}, 0,
			append([]string{"/usr/bin/srun", "--overlap", "-n", "4", "--mpi=pmix", "--kill-on-bad-exit=1"}, tail...), spec.env},
	}
	for _, tt := range tests {
		s := spec
		s.euid = tt.euid
		s.getenv = func(string) string { return "" }
		if strings.Contains(tt.name, "allocation") {
			s.getenv = func(k string) string { return map[string]string{"SLURM_JOB_ID": "3"}[k] }
		}
		argv, env := tt.l.Command(tt.o, s)
		if !reflect.DeepEqual(argv, tt.argv) || !reflect.DeepEqual(env, tt.env) {
			t.Errorf("%s:\n got %q %q\nwant %q %q", tt.name, argv, env, tt.argv, tt.env)
		}
	}
	// the allocation shapes srun's placement: one task of 4 CPUs, two nodes
	for _, tt := range []struct {
		env  map[string]string
		o    Request
		want []string
	}{
		{map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4", "SLURM_CPUS_PER_TASK": "4", "SLURM_JOB_NUM_NODES": "1"}, Request{N: 4},
			[]string{"/usr/bin/srun", "--overlap", "-n", "4", "--cpus-per-task=1", "--mpi=pmix", "--kill-on-bad-exit=1"}},
		{map[string]string{"SLURM_JOB_CPUS_PER_NODE": "3,1", "SLURM_JOB_NUM_NODES": "2"}, Request{N: 1},
			[]string{"/usr/bin/srun", "--overlap", "-n", "1", "--nodes=1", "--mpi=pmix", "--kill-on-bad-exit=1"}},
	} {
		s := spec
		s.getenv = func(k string) string { return tt.env[k] }
		argv, _ := stepped.Command(tt.o, s)
		if want := append(tt.want, tail...); !reflect.DeepEqual(argv, want) {
			t.Errorf("srun in %v:\n got %q\nwant %q", tt.env, argv, want)
		}
	}
}

func TestRemote(t *testing.T) {
	srun := &Launcher{Kind: "srun"}
	mpirun := &Launcher{Kind: "mpirun", Flavour: build.OpenMPI}
	none := func(string) string { return "" }
	inJob := func(k string) string { return map[string]string{"SLURM_JOB_ID": "9"}[k] }
	for _, tt := range []struct {
		l      *Launcher
		o      Request
		getenv func(string) string
		want   bool
	}{
		{mpirun, Request{N: 2}, none, false},
		{mpirun, Request{N: 2, Hosts: "a:2"}, none, true},
		{mpirun, Request{N: 2, Hostfile: "hf"}, none, true},
		{mpirun, Request{N: 2}, inJob, true}, // mpirun starts ranks on the allocation's nodes
		{srun, Request{N: 2}, none, true},
	} {
		if got := tt.l.Remote(tt.o, tt.getenv); got != tt.want {
			t.Errorf("remote(%s, %+v, SLURM_JOB_ID=%q) = %v", tt.l.Kind, tt.o, tt.getenv("SLURM_JOB_ID"), got)
		}
	}
}

func TestChooseMPIPlugin(t *testing.T) {
	all := []string{"pmix", "none", "cray_shasta", "pmi2", "pmix_v4"}
	tests := []struct {
		name            string
		flavour         string
		inStep          bool
		mpiType, deflt  string
		plugins         []string
		want, whySubstr string
	}{
		{"the user's SLURM_MPI_TYPE", build.OpenMPI, false, "pmi2", "pmix", all, "pmi2", "SLURM_MPI_TYPE"},
		{"a step's SLURM_MPI_TYPE is not the user's", build.OpenMPI, true, "none", "pmix", all, "pmix", "MpiDefault"},
		{"the site's default", build.MPICH, false, "", "pmix_v4", all, "pmix_v4", "MpiDefault"},
		{"default none: Open MPI gets PMIx", build.OpenMPI, false, "", "none", all, "pmix", "srun --mpi=list"},
		{"default none: MPICH gets PMI-2", build.MPICH, false, "", "none", all, "pmi2", "srun --mpi=list"},
		{"only a versioned pmix", build.OpenMPI, true, "none", "none", []string{"none", "pmix_v3"}, "pmix", ""},
		{"only pmi2 for Open MPI", build.OpenMPI, false, "", "", []string{"none", "pmi2"}, "pmi2", ""},
		{"nothing usable", build.OpenMPI, false, "", "none", []string{"none"}, "", "neither pmix nor pmi2"},
		{"no list", build.MPICH, false, "", "", nil, "pmi2", "gave no list"},
	}
	for _, tt := range tests {
		got, why := chooseMPIPlugin(tt.flavour, tt.inStep, tt.mpiType, tt.deflt, tt.plugins)
		if got != tt.want || !strings.Contains(why, tt.whySubstr) {
			t.Errorf("%s: %q (%s), want %q (%s)", tt.name, got, why, tt.want, tt.whySubstr)
		}
	}
}

func TestExplainLauncher(t *testing.T) {
	o := Request{N: 8}
	l := &Launcher{Kind: "mpirun", Path: "/usr/bin/mpirun", Flavour: build.OpenMPI}
	for text, want := range map[string]string{
		"There are not enough slots available in the system to satisfy the 8\nslots": "fewer slots",
		"ssh: Could not resolve hostname nodeX":                                      "ssh",
		"MPI_ABORT was invoked on rank 1 in communicator MPI_COMM_WORLD":             "MPI_Abort",
		"everything is fine": "",
	} {
		got := ExplainLauncher(text, o, l, 2)
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
	// The test's PATH (for the MPIs installed here) and the variables of
	// the case, nothing else of the shell.
	get := func(kv map[string]string) environ.Env {
		env := []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range kv {
			env = append(env, k+"="+v)
		}
		return environ.New(env...)
	}
	tests := []struct {
		choice  string
		env     map[string]string
		kind    string
		path    string
		flavour string
	}{
		{"auto", nil, "mpirun", "mpirun", build.OpenMPI},
		{"auto", map[string]string{"SLURM_JOB_ID": "42"}, "srun", "srun", build.OpenMPI},
		{"mpirun", map[string]string{"SLURM_JOB_ID": "42"}, "mpirun", "mpirun", build.OpenMPI},
		{"mpirun.mpich", nil, "mpirun", "mpirun.mpich", build.MPICH},
		{"auto", map[string]string{"MPIGO_MPIRUN": "mpirun.mpich"}, "mpirun", "mpirun.mpich", build.MPICH},
	}
	for _, tt := range tests {
		l, err := FindLauncher(ctx, tt.choice, get(tt.env))
		if err != nil {
			t.Errorf("findLauncher(%q, %v): %v", tt.choice, tt.env, err)
			continue
		}
		if l.Kind != tt.kind || filepath.Base(l.Path) != tt.path || l.Flavour != tt.flavour {
			t.Errorf("findLauncher(%q, %v) = %+v", tt.choice, tt.env, l)
		}
	}
	if _, err := FindLauncher(ctx, "mpiexec.none", get(nil)); err == nil || !strings.Contains(err.Error(), "no mpiexec.none found") {
		t.Errorf("a missing mpirun: %v", err)
	}

	// srun's plugin from what srun and scontrol (next to it) say; the
	// scripts use only sh's builtins, as PATH holds nothing else
	script := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\nprintf '%s\\n' '"+text+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script("srun", "MPI plugin types are...\n\tnone\n\tpmi2\n\tpmix\nspecific pmix plugin versions available: pmix_v4")
	for _, tt := range []struct {
		deflt string
		env   map[string]string
		want  string
		step  bool
	}{
		{"none", map[string]string{"SLURM_JOB_ID": "42"}, "pmix", false},
		{"pmi2", map[string]string{"SLURM_JOB_ID": "42"}, "pmi2", false},
		{"none", map[string]string{"SLURM_JOB_ID": "42", "SLURM_STEP_ID": "0", "SLURM_MPI_TYPE": "none"}, "pmix", true},
		{"none", map[string]string{"SLURM_JOB_ID": "42", "SLURM_STEP_ID": "batch"}, "pmix", false},
	} {
		script("scontrol", "Configuration data as of 2026-01-01T00:00:00\nMpiDefault              = "+tt.deflt+"\nMpiParams               = (null)")
		l, err := FindLauncher(ctx, "auto", get(tt.env))
		if err != nil || l.Kind != "srun" || l.MPIPlugin != tt.want || l.InStep != tt.step {
			t.Errorf("findLauncher with MpiDefault %s, %v = %+v, %v; want --mpi=%s, in a step: %v", tt.deflt, tt.env, l, err, tt.want, tt.step)
		}
	}
}

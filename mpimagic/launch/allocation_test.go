package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/mpimagic/build"
)

func TestHostSlots(t *testing.T) {
	for in, want := range map[string]int{"a:4,b:4": 8, "a": 1, "a,b:2": 3, " a:2 , b:3 ": 5} {
		if got, err := hostSlots(in); err != nil || got != want {
			t.Errorf("hostSlots(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"a:0", "a:x", ",b"} {
		if _, err := hostSlots(in); err == nil {
			t.Errorf("hostSlots(%q) accepted", in)
		}
	}
}

func TestHostfileSlots(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]int{
		"# comment\nnode1 slots=4\nnode2 slots=2 max_slots=8\n": 6,
		"node1:3\nnode2:1\n":     4,
		"node1\nnode2 slots=2\n": 0, // a host without a count: unknown
	} {
		p := filepath.Join(dir, "hf")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := hostfileSlots(p); err != nil || got != want {
			t.Errorf("hostfileSlots(%q) = %d, %v; want %d", content, got, err, want)
		}
	}
	if _, err := hostfileSlots(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing hostfile was accepted")
	}
}

func TestCheckAllocation(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	srun := &Launcher{Kind: "srun", Path: "/usr/bin/srun"}
	mpirun := &Launcher{Kind: "mpirun", Path: "/usr/bin/mpirun", Flavour: build.OpenMPI}
	slurm := env(map[string]string{"SLURM_JOB_ID": "7", "SLURM_JOB_CPUS_PER_NODE": "4(x2)"})
	tests := []struct {
		o    Request
		l    *Launcher
		env  func(string) string
		want string // substring of the error; "" for none
	}{
		{Request{N: 8}, srun, slurm, ""},
		{Request{N: 9}, srun, slurm, "more ranks than this SLURM allocation (job 7) can run"},
		{Request{N: 9}, srun, slurm, "%mpirun -n 9 --sbatch"},
		{Request{N: 9, Command: true}, srun, slurm, "sbatch --ntasks=9"},
		{Request{N: 9, LauncherArgs: []string{"--overcommit"}}, srun, slurm, ""},
		// one task of 4 CPUs: 4 ranks of one CPU each, not 1 rank
		{Request{N: 4}, srun, env(map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4", "SLURM_CPUS_PER_TASK": "4"}), ""},
		{Request{N: 5}, srun, env(map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4", "SLURM_CPUS_PER_TASK": "4"}), "4 ranks at most"},
		{Request{N: 4, LauncherArgs: []string{"-c", "2"}}, srun, env(map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4"}), "2 ranks at most"},
		{Request{N: 4}, mpirun, slurm, ""},
		{Request{N: 9}, mpirun, slurm, "more ranks than this SLURM allocation (job 7)"},
		{Request{N: 9, LauncherArgs: []string{"--oversubscribe"}}, mpirun, slurm, ""},
		{Request{N: 9, Hosts: "a:9"}, mpirun, slurm, ""},
		{Request{N: 8, Hosts: "a:4,b:4"}, mpirun, env(nil), ""},
		{Request{N: 9, Hosts: "a:4,b:4"}, mpirun, env(nil), "has slots (8)"},
		{Request{N: 9, Hosts: "a:4,b:4", LauncherArgs: []string{"--oversubscribe"}}, mpirun, env(nil), ""},
		{Request{N: 32}, mpirun, env(nil), ""},
		{Request{N: 100000}, mpirun, env(nil), "too many ranks"},
	}
	for _, tt := range tests {
		err := CheckAllocation(tt.o, tt.l, tt.env, 2)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkAllocation(%+v, %s) = %v, want %q", tt.o, tt.l.Kind, err, tt.want)
		}
	}
}

func TestPlanSrun(t *testing.T) {
	tests := []struct {
		name string
		o    Request
		env  map[string]string
		want srunPlan // note compared as a substring
		err  string
	}{
		{"one rank per task", Request{N: 4}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4", "SLURM_JOB_NUM_NODES": "1"}, srunPlan{}, ""},
		{"fewer ranks than nodes", Request{N: 1}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "3,1", "SLURM_JOB_NUM_NODES": "2"}, srunPlan{nodes: 1}, ""},
		{"fewer ranks than nodes, user's nodelist", Request{N: 1, LauncherArgs: []string{"-w", "n2"}}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "3,1", "SLURM_JOB_NUM_NODES": "2"}, srunPlan{}, ""},
		{"tasks of 2 CPUs keep them", Request{N: 2}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "8", "SLURM_CPUS_PER_TASK": "2"}, srunPlan{cpusPerRank: 2}, ""},
		{"one task of 4 CPUs", Request{N: 4}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4", "SLURM_CPUS_PER_TASK": "4"},
			srunPlan{cpusPerRank: 1, note: "1 CPU per rank: the allocation's 4 CPUs hold 1 task of 4 CPUs"}, ""},
		{"SRUN_CPUS_PER_TASK (Slurm 23.11)", Request{N: 3}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4", "SRUN_CPUS_PER_TASK": "4"}, srunPlan{cpusPerRank: 1, note: "1 CPU per rank"}, ""},
		{"two nodes of 8", Request{N: 16}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "8(x2)", "SLURM_CPUS_PER_TASK": "8"}, srunPlan{cpusPerRank: 1, note: "2 tasks of 8 CPUs"}, ""},
		{"beyond the CPUs", Request{N: 5}, map[string]string{"SLURM_JOB_ID": "3", "SLURM_JOB_CPUS_PER_NODE": "4", "SLURM_CPUS_PER_TASK": "4"}, srunPlan{}, "-n 5 is more ranks than this SLURM allocation (job 3)"},
		{"user's -c", Request{N: 2, LauncherArgs: []string{"--cpus-per-task=2"}}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4", "SLURM_CPUS_PER_TASK": "4"}, srunPlan{}, ""},
		{"user's -c3, too many", Request{N: 2, LauncherArgs: []string{"-c3"}}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4"}, srunPlan{}, "each rank asks for 3"},
		{"--overcommit", Request{N: 64, LauncherArgs: []string{"--overcommit"}}, map[string]string{"SLURM_JOB_CPUS_PER_NODE": "4"}, srunPlan{}, ""},
		{"unknown allocation", Request{N: 64}, map[string]string{}, srunPlan{}, ""},
	}
	for _, tt := range tests {
		got, err := planSrun(tt.o, func(k string) string { return tt.env[k] })
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case got.cpusPerRank != tt.want.cpusPerRank || got.nodes != tt.want.nodes ||
			!strings.Contains(got.note, tt.want.note) || (tt.want.note == "") != (got.note == ""):
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestArgValue(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		value string
		ok    bool
	}{
		{[]string{"-c", "2"}, "2", true},
		{[]string{"--cpus-per-task=3"}, "3", true},
		{[]string{"-c4"}, "4", true},
		{[]string{"--cpus-per-task", "5"}, "5", true},
		{[]string{"-c"}, "", false},
		{[]string{"--cpu-bind=cores"}, "", false},
	} {
		v, ok := argValue(tt.args, "-c", "--cpus-per-task")
		if v != tt.value || ok != tt.ok {
			t.Errorf("argValue(%q) = %q, %v; want %q, %v", tt.args, v, ok, tt.value, tt.ok)
		}
	}
}

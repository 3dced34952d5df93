package mpimagic

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlurmCPUs(t *testing.T) {
	for in, want := range map[string]int{"": 0, "4": 4, "16(x2)": 32, "16(x2),4": 36, "2,2,2": 6, "x": 0, "4(x": 0} {
		if got := slurmCPUs(in); got != want {
			t.Errorf("slurmCPUs(%q) = %d, want %d", in, got, want)
		}
	}
}

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
	srun := &launcher{kind: "srun", path: "/usr/bin/srun"}
	mpirun := &launcher{kind: "mpirun", path: "/usr/bin/mpirun", flavour: flavourOpenMPI}
	slurm := env(map[string]string{"SLURM_JOB_ID": "7", "SLURM_JOB_CPUS_PER_NODE": "4(x2)"})
	tests := []struct {
		o    Options
		l    *launcher
		env  func(string) string
		want string // substring of the error; "" for none
	}{
		{Options{N: 8}, srun, slurm, ""},
		{Options{N: 9}, srun, slurm, "more ranks than this SLURM allocation"},
		{Options{N: 9, LauncherArgs: []string{"--overcommit"}}, srun, slurm, ""},
		{Options{N: 4}, srun, env(map[string]string{"SLURM_JOB_CPUS_PER_NODE": "8", "SLURM_CPUS_PER_TASK": "4"}), "2 ranks at most"},
		{Options{N: 8, Hosts: "a:4,b:4"}, mpirun, env(nil), ""},
		{Options{N: 9, Hosts: "a:4,b:4"}, mpirun, env(nil), "has slots (8)"},
		{Options{N: 9, Hosts: "a:4,b:4", LauncherArgs: []string{"--oversubscribe"}}, mpirun, env(nil), ""},
		{Options{N: 32}, mpirun, env(nil), ""},
		{Options{N: 100000}, mpirun, env(nil), "too many ranks"},
	}
	for _, tt := range tests {
		err := checkAllocation(tt.o, tt.l, tt.env, 2)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkAllocation(%+v, %s) = %v, want %q", tt.o, tt.l.kind, err, tt.want)
		}
	}
}

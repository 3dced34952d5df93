// Package slurm is what mpigo knows of SLURM: the variables of an
// allocation and of a job step, the CPUs an allocation holds, srun's MPI
// plugins, the state of a batch job (scontrol, squeue, sacct) polled until
// it ends, and the #SBATCH lines of a job script. It imports nothing of
// mpigo: callers pass the environment and the options they read.
package slurm

import (
	"strconv"
	"strings"
)

// FirstSet returns the value of the first of keys that getenv has, or "".
func FirstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// InJobStep reports whether a process with the environment getenv runs
// inside a SLURM job step (started by srun), not directly in the
// allocation (salloc's shell, or a batch script).
func InJobStep(getenv func(string) string) bool {
	step := FirstSet(getenv, "SLURM_STEP_ID", "SLURM_STEPID")
	// a batch script is the "batch" step on some Slurm versions; its srun
	// needs no --overlap
	return step != "" && step != "batch" && step != "4294967294"
}

// StepVar reports whether k is one of the variables srun sets for the
// tasks of a job step (and not for the allocation as a whole).
func StepVar(k string) bool {
	switch k {
	case "SLURM_STEPID", "SLURM_NTASKS", "SLURM_NPROCS", "SLURM_NNODES", "SLURM_MPI_TYPE", "SLURM_DISTRIBUTION",
		"SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_GTIDS", "SLURM_TASK_PID", "SLURM_PRIO_PROCESS",
		"SLURM_LAUNCH_NODE_IPADDR", "SLURM_CPUS_ON_NODE", "SLURM_UMASK", "SRUN_DEBUG":
		return true
	}
	for _, prefix := range []string{"SLURM_STEP_", "SLURM_SRUN_COMM_", "SLURM_CPU_BIND", "SLURM_MEM_BIND", "SLURM_PMIX", "SLURM_PMI_", "SLURM_TOPOLOGY_ADDR"} {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// CPUs adds up SLURM_JOB_CPUS_PER_NODE, e.g. "16(x2),4" is 36; 0 when it
// is empty or malformed.
func CPUs(s string) int {
	total := 0
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return 0
		}
		count, times := part, "1"
		if i := strings.Index(part, "(x"); i >= 0 && strings.HasSuffix(part, ")") {
			count, times = part[:i], part[i+2:len(part)-1]
		}
		c, err1 := strconv.Atoi(count)
		t, err2 := strconv.Atoi(times)
		if err1 != nil || err2 != nil || c < 0 || t < 0 {
			return 0
		}
		total += c * t
	}
	return total
}

// Package environ is the environment a cell or an `mpigo run` works with:
// the process's, read once when it starts and passed down, so that what
// mpimagic does, and the caches it keys, depend on this value and not on
// the shell the code or its tests run in (inside salloc, inside a job
// step). It also says which of its variables a launcher and the programs
// started from a cell may inherit (Child).
package environ

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// Env is an environment of KEY=VALUE entries. The zero Env is empty.
type Env struct{ list []string }

// New returns an environment of KEY=VALUE entries (later ones win).
func New(list ...string) Env { return Env{append([]string(nil), list...)} }

// Get returns the value of k, "" when it is not set.
func (e Env) Get(k string) string {
	v := ""
	for _, kv := range e.list {
		if name, val, ok := strings.Cut(kv, "="); ok && name == k {
			v = val
		}
	}
	return v
}

// List returns the entries.
func (e Env) List() []string { return append([]string(nil), e.list...) }

// Key returns the values of names, the part of a cache key they decide.
func (e Env) Key(names ...string) string {
	var b strings.Builder
	for _, k := range names {
		b.WriteString("\x00" + e.Get(k))
	}
	return b.String()
}

// LookPath finds an executable as exec.LookPath does, on the PATH of e.
func (e Env) LookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if IsExecutable(name) {
			return name, nil
		}
		return "", &NotFoundError{name}
	}
	for _, dir := range filepath.SplitList(e.Get("PATH")) {
		if dir == "" {
			dir = "."
		}
		if p := filepath.Join(dir, name); IsExecutable(p) {
			return p, nil
		}
	}
	return "", &NotFoundError{name}
}

// NotFoundError is an executable that is not on PATH.
type NotFoundError struct{ Name string }

// Error says so as exec.LookPath would.
func (e *NotFoundError) Error() string {
	return "exec: " + `"` + e.Name + `"` + ": executable file not found in $PATH"
}

// IsExecutable reports whether p is an executable file.
func IsExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Child is e without the variables that would make a launcher, or a
// program started from a cell, believe it runs inside another MPI job:
// those an MPI launcher or srun's PMI gives its processes (OMPI_*, PMIX_*,
// PMI_*) and the rank I/O channel of an enclosing %mpirun. Open MPI
// settings a user made (OMPI_MCA_*) are kept unless this process itself is
// an MPI rank. Inside a SLURM job step (the kernel started by srun) the
// step's own variables go too (slurm.StepVar): srun reads several of them
// as its options (SLURM_NTASKS, SLURM_NNODES, SLURM_MPI_TYPE,
// SLURM_DISTRIBUTION, SLURM_CPU_BIND), which would shape the ranks' step
// like the kernel's; the allocation's (SLURM_JOB_*) stay.
func (e Env) Child() []string {
	inJob, inStep := false, false
	for _, kv := range e.list {
		if strings.HasPrefix(kv, "OMPI_COMM_WORLD_") || strings.HasPrefix(kv, "PMIX_RANK=") || strings.HasPrefix(kv, "PMI_RANK=") {
			inJob = true
		}
		if k, v, _ := strings.Cut(kv, "="); k == "SLURM_STEP_ID" || k == "SLURM_STEPID" {
			inStep = slurm.InJobStep(func(string) string { return v })
		}
	}
	out := make([]string, 0, len(e.list))
	for _, kv := range e.list {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "OMPI_MCA_") && !inJob:
		case strings.HasPrefix(k, "OMPI_"), strings.HasPrefix(k, "PMIX_"), strings.HasPrefix(k, "PMI_"), k == rankio.EnvVar:
			continue
		case inStep && slurm.StepVar(k):
			continue
		case k == "SLURM_EXPORT_ENV":
			// sbatch --export=LIST (batchspawner submits so) hands LIST on
			// to every srun in the job through this variable; the ranks'
			// srun would then pass them only LIST, without the variables
			// that connect each rank back to the kernel. Without it srun
			// exports the whole environment (its default, --export=ALL).
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Merge returns env with the K=V of add set (replacing earlier values).
func Merge(env, add []string) []string {
	keys := map[string]bool{}
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	out := make([]string, 0, len(env)+len(add))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !keys[k] {
			out = append(out, kv)
		}
	}
	return append(out, add...)
}

package slurm

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// MPIPlugins lists the plugins of srun --mpi=list ("pmix", "pmi2",
// "pmix_v4", ...), run with env.
func MPIPlugins(ctx context.Context, srun string, env []string) []string {
	return parseMPIList(query(ctx, env, srun, "--mpi=list"))
}

// MPIDefault returns the cluster's MpiDefault (scontrol show config, run
// with env), "" when scontrol cannot tell.
func MPIDefault(ctx context.Context, scontrol string, env []string) string {
	out := query(ctx, env, scontrol, "show", "config")
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "MpiDefault" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseMPIList reads srun --mpi=list: the plugin names, one a line after
// "MPI plugin types are...", then "specific pmix plugin versions
// available: pmix_v4,pmix_v5" (the format of Slurm 22 to 24).
func parseMPIList(out string) []string {
	var names []string
	started := false
	for _, line := range strings.Split(out, "\n") {
		t := strings.TrimSpace(strings.TrimPrefix(line, "srun: "))
		switch {
		case strings.HasPrefix(t, "MPI plugin types are"):
			started = true
		case strings.HasPrefix(t, "specific pmix plugin versions available:"):
			for _, v := range strings.Split(strings.TrimPrefix(t, "specific pmix plugin versions available:"), ",") {
				if v = strings.TrimSpace(v); v != "" {
					names = append(names, v)
				}
			}
		case started && t != "" && !strings.ContainsAny(t, " :"):
			names = append(names, t)
		}
	}
	return names
}

// query runs a SLURM command (at most 10 s) and returns its output,
// stdout and stderr together ("" when it fails).
func query(ctx context.Context, env []string, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}

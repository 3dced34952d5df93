package mpimagic

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// MPI flavours, as launchers identify themselves.
const (
	flavourOpenMPI = "Open MPI"
	flavourMPICH   = "MPICH"
	flavourIntel   = "Intel MPI"
	flavourOther   = "unknown MPI"
)

// launcher is the program that starts the ranks.
type launcher struct {
	kind    string // "mpirun" or "srun"
	path    string // absolute path
	flavour string // of the mpirun (for srun: of the mpirun on PATH, if any)
	version string // first line of mpirun --version
	// mpirun is the mpirun whose MPI the program is built for ("" if none).
	mpirun string
}

// name is how messages call the launcher.
func (l *launcher) name() string { return filepath.Base(l.path) }

// findLauncher resolves --launcher. auto is srun inside a SLURM allocation
// ($SLURM_JOB_ID) and mpirun otherwise; mpirun is $MPIGO_MPIRUN if set,
// else the mpirun on PATH.
func findLauncher(ctx context.Context, choice string, getenv func(string) string) (*launcher, error) {
	kind := choice
	if choice == "auto" {
		kind = "mpirun"
		if getenv("SLURM_JOB_ID") != "" {
			kind = "srun"
		}
	}
	mpirunName := "mpirun"
	if v := getenv("MPIGO_MPIRUN"); v != "" {
		mpirunName = v
	}
	if kind != "srun" && kind != "mpirun" { // a specific mpirun
		mpirunName, kind = choice, "mpirun"
	}
	l := &launcher{kind: kind}
	if p, err := exec.LookPath(mpirunName); err == nil {
		l.mpirun = p
		l.flavour, l.version = mpiFlavour(ctx, p)
	} else if kind == "mpirun" {
		return nil, fmt.Errorf("no %s found on PATH (%v): install an MPI (e.g. apt-get install openmpi-bin libopenmpi-dev) or load its module (module load openmpi)", mpirunName, err)
	}
	if kind == "srun" {
		p, err := exec.LookPath("srun")
		if err != nil {
			return nil, fmt.Errorf("--launcher srun: no srun on PATH: %v", err)
		}
		l.path = p
	} else {
		l.path = l.mpirun
	}
	return l, nil
}

// mpiFlavour runs `mpirun --version` and tells the MPI it belongs to.
func mpiFlavour(ctx context.Context, mpirun string) (flavour, version string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mpirun, "--version")
	cmd.Env = launcherEnv(os.Environ())
	out, _ := cmd.CombinedOutput()
	text := string(out)
	first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	switch {
	case strings.Contains(text, "Open MPI") || strings.Contains(text, "OpenRTE"):
		return flavourOpenMPI, first
	case strings.Contains(text, "Intel(R) MPI"):
		return flavourIntel, first
	case strings.Contains(text, "HYDRA") || strings.Contains(text, "MPICH"):
		if i := strings.Index(text, "Version:"); i >= 0 {
			v, _, _ := strings.Cut(strings.TrimSpace(text[i+len("Version:"):]), "\n")
			first = "MPICH (Hydra) " + strings.TrimSpace(v)
		}
		return flavourMPICH, first
	}
	return flavourOther, first
}

// launchSpec is what a launch needs to know beyond the options.
type launchSpec struct {
	wrapper []string // the rank wrapper's command
	program []string // the program and its arguments
	env     []string // K=V to pass to every rank (rank I/O, display, --env)
	cores   int      // local cores, for oversubscription
	euid    int
}

// command returns the launcher's argv and the variables to add to its
// environment. Rank count limits are checked by checkAllocation first.
func (l *launcher) command(o Options, s launchSpec) (argv, env []string) {
	n := fmt.Sprint(o.N)
	argv = []string{l.path}
	switch {
	case l.kind == "srun":
		if os.Getenv("SLURM_STEP_ID") != "" || os.Getenv("SLURM_STEPID") != "" {
			// Inside a job step (batchspawner runs the notebook under
			// srun): a new step must share its resources.
			argv = append(argv, "--overlap")
		}
		argv = append(argv, "-n", n, "--kill-on-bad-exit=1")
		if o.Hosts != "" {
			argv = append(argv, "--nodelist="+hostNames(o.Hosts))
		}
	case l.flavour == flavourOpenMPI:
		argv = append(argv, "-n", n)
		switch {
		case o.Hosts != "":
			argv = append(argv, "--host", o.Hosts)
		case o.Hostfile != "":
			argv = append(argv, "--hostfile", o.Hostfile)
		case o.N > s.cores:
			argv = append(argv, "--oversubscribe")
		}
		for _, kv := range s.env {
			k, _, _ := strings.Cut(kv, "=")
			argv = append(argv, "-x", k) // to ranks on other hosts too
		}
		if s.euid == 0 {
			env = append(env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
		}
	default: // MPICH's Hydra and its relatives (Intel MPI, MVAPICH)
		argv = append(argv, "-n", n)
		switch {
		case o.Hosts != "":
			argv = append(argv, "-hosts", o.Hosts)
		case o.Hostfile != "":
			argv = append(argv, "-f", o.Hostfile)
		}
	}
	argv = append(argv, o.LauncherArgs...)
	argv = append(argv, s.wrapper...)
	argv = append(argv, "--")
	argv = append(argv, s.program...)
	env = append(env, s.env...)
	return argv, env
}

// hostNames turns "h1:4,h2:4" into "h1,h2".
func hostNames(hosts string) string {
	var names []string
	for _, h := range strings.Split(hosts, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(h), ":")
		if name != "" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}

// launcherEnv is env without the variables that would make a launcher
// believe it runs inside another MPI job: those an MPI launcher or srun's
// PMI gives its processes (OMPI_*, PMIX_*, PMI_*). Open MPI settings a user
// made (OMPI_MCA_*) are kept unless this process itself is an MPI rank.
func launcherEnv(env []string) []string {
	inJob := false
	for _, kv := range env {
		if strings.HasPrefix(kv, "OMPI_COMM_WORLD_") || strings.HasPrefix(kv, "PMIX_RANK=") || strings.HasPrefix(kv, "PMI_RANK=") {
			inJob = true
		}
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, "OMPI_MCA_") && !inJob:
		case strings.HasPrefix(kv, "OMPI_"), strings.HasPrefix(kv, "PMIX_"), strings.HasPrefix(kv, "PMI_"),
			strings.HasPrefix(kv, rankio.EnvVar+"="):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// mergeEnv returns env with the K=V of add set (replacing earlier values).
func mergeEnv(env, add []string) []string {
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

// explainLauncher turns a launcher's messages into a plain explanation, or
// "" when it recognises none.
func explainLauncher(text string, o Options, l *launcher, cores int) string {
	low := strings.ToLower(text)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(low, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("not enough slots", "more processors requested than permitted", "requested node configuration is not available"):
		return fmt.Sprintf("The launcher has fewer slots (cores) than the %d ranks asked for. Use a smaller -n, more hosts, "+
			"or allow several ranks per core with `-- --oversubscribe` (Open MPI).", o.N)
	case has("unable to create step", "job step creation temporarily disabled", "unable to allocate resources"):
		return "srun could not start a job step in this allocation: the allocation is busy or too small for -n " + fmt.Sprint(o.N) + "."
	case has("could not resolve hostname", "unable to reliably start one or more daemons", "orte_ess_init failed", "ssh:", "host key verification failed"):
		return "The launcher could not start its helpers on the other hosts: check the host names and that ssh to them works without a password."
	case has("execvp", "was unable to launch the specified application", "no such file or directory", "permission denied"):
		return "The launcher could not run the program: on several hosts, mpigo and its cache directory (~/.cache/mpigo) must be visible on every host at the same path."
	case has("mpi_abort was invoked", "mpi_abort"):
		return "A rank called MPI_Abort (mpi.World.Abort), which ends every rank."
	case has("pmix", "pmi2", "pmi server") && l.kind == "srun":
		return "srun's process management (PMI) and the MPI library do not match: try `-- --mpi=pmix` or `-- --mpi=pmi2`."
	}
	return ""
}

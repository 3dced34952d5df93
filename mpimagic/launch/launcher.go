package launch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// LauncherEnvKeys are the variables the choice of the launcher depends on
// (findLauncher, slurm.InJobStep, chooseMPIPlugin).
var LauncherEnvKeys = []string{"PATH", "MPIGO_MPIRUN", "SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_MPI_TYPE"}

// Launcher is the program that starts the ranks.
type Launcher struct {
	Kind    string // "mpirun" or "srun"
	Path    string // absolute path
	Flavour string // of the mpirun (for srun: of the mpirun on PATH, if any)
	Version string // first line of mpirun --version
	// Mpirun is the Mpirun whose MPI the program is built for ("" if none).
	Mpirun string
	// InStep is set when this process runs inside a SLURM job step (under
	// srun, as batchspawner starts the notebook server).
	InStep bool
	// For srun: MPIPlugin is the --mpi plugin to pass ("" for none) and
	// mpiWhy says why it.
	MPIPlugin string
	MPIWhy    string
}

// MPI is the MPI the programs this launcher runs are built for.
func (l *Launcher) MPI() build.MPI {
	return build.MPI{Mpirun: l.Mpirun, Flavour: l.Flavour, Version: l.Version}
}

// Name is how messages call the launcher.
func (l *Launcher) Name() string { return filepath.Base(l.Path) }

// FindLauncher resolves --launcher. auto is srun inside a SLURM allocation
// ($SLURM_JOB_ID) and mpirun otherwise; mpirun is $MPIGO_MPIRUN if set,
// else the mpirun on PATH.
func FindLauncher(ctx context.Context, choice string, env environ.Env) (*Launcher, error) {
	getenv := env.Get
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
	l := &Launcher{Kind: kind, InStep: slurm.InJobStep(getenv)}
	if p, err := env.LookPath(mpirunName); err == nil {
		l.Mpirun = p
		l.Flavour, l.Version = mpiFlavour(ctx, p, env)
	} else if kind == "mpirun" {
		return nil, fmt.Errorf("no %s found on PATH (%v): install an MPI (e.g. apt-get install openmpi-bin libopenmpi-dev) or load its module (module load openmpi)", mpirunName, err)
	}
	if kind == "srun" {
		p, err := env.LookPath("srun")
		if err != nil {
			return nil, fmt.Errorf("--launcher srun: no srun on PATH: %v", err)
		}
		l.Path = p
		l.MPIPlugin, l.MPIWhy = chooseMPIPlugin(l.Flavour, l.InStep, getenv("SLURM_MPI_TYPE"),
			slurmMPIDefault(ctx, p, env), slurm.MPIPlugins(ctx, p, env.Child()))
	} else {
		l.Path = l.Mpirun
	}
	return l, nil
}

// chooseMPIPlugin picks srun's --mpi plugin for programs built with the
// MPI of flavour; it returns "" when none should be passed, and why, for
// --verbose. In order:
//
//   - $SLURM_MPI_TYPE set by the user (not inside a job step, where it is
//     the step's own, e.g. none under batchspawner's srun --mpi=none);
//   - the cluster's MpiDefault (scontrol show config) when it is not
//     none: its admins chose it for their MPIs;
//   - else (Slurm's own default is none, which starts every rank as a
//     singleton) what the MPI speaks, among what srun offers (srun
//     --mpi=list): PMIx for Open MPI, PMI-2 for MPICH and its relatives.
func chooseMPIPlugin(flavour string, inStep bool, mpiType, siteDefault string, plugins []string) (plugin, why string) {
	if mpiType != "" && !inStep {
		return mpiType, "$SLURM_MPI_TYPE"
	}
	if siteDefault != "" && siteDefault != "none" {
		return siteDefault, "the cluster's MpiDefault"
	}
	prefs := []string{"pmix", "pmi2"}
	if flavour == build.MPICH || flavour == build.IntelMPI {
		prefs = []string{"pmi2", "pmix"}
	}
	if len(plugins) == 0 { // srun --mpi=list said nothing readable
		return prefs[0], "the usual plugin for " + flavour + " (srun --mpi=list gave no list)"
	}
	for _, want := range prefs {
		for _, have := range plugins {
			if have == want || strings.HasPrefix(have, want+"_") {
				return want, "the plugin for " + flavour + " among srun --mpi=list (the cluster's MpiDefault is none)"
			}
		}
	}
	return "", "srun --mpi=list offers neither pmix nor pmi2; srun's default is used"
}

// slurmMPIDefault returns the cluster's MpiDefault, "" when scontrol
// cannot tell; scontrol is the one next to srun, else the one on PATH.
func slurmMPIDefault(ctx context.Context, srun string, env environ.Env) string {
	scontrol := filepath.Join(filepath.Dir(srun), "scontrol")
	if !environ.IsExecutable(scontrol) {
		var err error
		if scontrol, err = env.LookPath("scontrol"); err != nil {
			return ""
		}
	}
	return slurm.MPIDefault(ctx, scontrol, env.Child())
}

// mpiFlavour runs `mpirun --version` and tells the MPI it belongs to.
func mpiFlavour(ctx context.Context, mpirun string, env environ.Env) (flavour, version string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mpirun, "--version")
	cmd.Env = env.Child()
	out, _ := cmd.CombinedOutput()
	text := string(out)
	first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	switch {
	case strings.Contains(text, "Open MPI") || strings.Contains(text, "OpenRTE"):
		return build.OpenMPI, first
	case strings.Contains(text, "Intel(R) MPI"):
		return build.IntelMPI, first
	case strings.Contains(text, "HYDRA") || strings.Contains(text, "MPICH"):
		if i := strings.Index(text, "Version:"); i >= 0 {
			v, _, _ := strings.Cut(strings.TrimSpace(text[i+len("Version:"):]), "\n")
			first = "MPICH (Hydra) " + strings.TrimSpace(v)
		}
		return build.MPICH, first
	}
	return build.UnknownMPI, first
}

// commandSpec is what a launch needs to know beyond the options.
type commandSpec struct {
	wrapper []string // the rank wrapper's command
	program []string // the program and its arguments
	env     []string // K=V to pass to every rank (rank I/O, display, --env)
	cores   int      // local cores, for oversubscription
	euid    int
	// getenv reads the SLURM allocation's variables; nil is the options'
	// environment's.
	getenv func(string) string
}

// Command returns the launcher's argv and the variables to add to its
// environment. Rank count limits are checked by checkAllocation first.
// srun gets -n, --mpi (chooseMPIPlugin), --overlap inside a job step, and
// --nodes and --cpus-per-task when planSrun sets them.
func (l *Launcher) Command(o Request, s commandSpec) (argv, env []string) {
	n := fmt.Sprint(o.N)
	argv = []string{l.Path}
	getenv := s.getenv
	if getenv == nil {
		getenv = o.Environ.Get
	}
	switch {
	case l.Kind == "srun":
		if l.InStep {
			// Inside a job step (batchspawner runs the notebook under
			// srun): a new step must share the step's CPUs, or it waits
			// for them forever.
			argv = append(argv, "--overlap")
		}
		argv = append(argv, "-n", n)
		p, _ := planSrun(o, getenv) // its error was reported by checkAllocation
		if p.nodes > 0 {
			argv = append(argv, "--nodes="+fmt.Sprint(p.nodes))
		}
		if p.cpusPerRank > 0 {
			argv = append(argv, "--cpus-per-task="+fmt.Sprint(p.cpusPerRank))
		}
		if l.MPIPlugin != "" && !hasArg(o.LauncherArgs, "--mpi") {
			argv = append(argv, "--mpi="+l.MPIPlugin)
		}
		argv = append(argv, "--kill-on-bad-exit=1")
		if o.Hosts != "" {
			argv = append(argv, "--nodelist="+hostNames(o.Hosts))
		}
	case l.Flavour == build.OpenMPI:
		hosts := hostArgs(o, "--host", "--hostfile")
		argv = append(append(argv, "-n", n), hosts...)
		if hosts == nil && (o.N > s.cores || getenv("SLURM_JOB_ID") != "") {
			// in a SLURM allocation Open MPI counts its tasks (inside a
			// job step: the step's) as slots, not its CPUs, which bound
			// -n (checkAllocation)
			argv = append(argv, "--oversubscribe")
		}
		for _, kv := range s.env {
			k, _, _ := strings.Cut(kv, "=")
			argv = append(argv, "-x", k) // to ranks on other hosts too
		}
		if s.euid == 0 {
			env = append(env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
		}
		if l.InStep {
			// Open MPI starts its daemons on the allocation's other nodes
			// with srun, which inside a job step waits for the step's
			// CPUs unless it may overlap
			env = append(env, "SLURM_OVERLAP=1")
		}
	default: // MPICH's Hydra and its relatives (Intel MPI, MVAPICH)
		argv = append(append(argv, "-n", n), hostArgs(o, "-hosts", "-f")...)
	}
	argv = append(argv, o.LauncherArgs...)
	if len(s.wrapper) > 0 {
		argv = append(argv, s.wrapper...)
		argv = append(argv, "--")
	}
	argv = append(argv, s.program...)
	env = append(env, s.env...)
	return argv, env
}

// ProgramCommand is Command for a program that runs on every rank by
// itself, without the rank wrapper (the persistent ranks of %ranks, which
// talk to the kernel themselves): env is passed to every rank.
func (l *Launcher) ProgramCommand(o Request, program, env []string) (argv, addEnv []string) {
	return l.Command(o, commandSpec{program: program, env: env, cores: Cores(), euid: os.Geteuid()})
}

// hostArgs are a launcher's arguments for --hosts or --hostfile, given
// its flags for them; nil when the request has neither.
func hostArgs(o Request, hostsFlag, hostfileFlag string) []string {
	switch {
	case o.Hosts != "":
		return []string{hostsFlag, o.Hosts}
	case o.Hostfile != "":
		return []string{hostfileFlag, o.Hostfile}
	}
	return nil
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

// ExplainLauncher turns a launcher's messages into a plain explanation, or
// "" when it recognises none.
func ExplainLauncher(text string, o Request, l *Launcher, cores int) string {
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
	case has("pmix", "pmi2", "pmi server") && l.Kind == "srun":
		return "srun's process management (PMI) and the MPI library do not match: try `-- --mpi=pmix` or `-- --mpi=pmi2`."
	}
	return ""
}

// Remote reports whether the ranks may run on other hosts than this one,
// and so must reach the kernel over the network: under srun, with --hosts
// or --hostfile, and for any launcher inside a SLURM allocation (an
// mpirun there starts ranks on the allocation's nodes).
func (l *Launcher) Remote(o Request, getenv func(string) string) bool {
	return l.Kind == "srun" || o.Hosts != "" || o.Hostfile != "" || getenv("SLURM_JOB_ID") != ""
}

// PlacementNote says how the ranks of o are placed when that is not one
// rank per task of the SLURM allocation (planSrun's note), "" otherwise.
func (l *Launcher) PlacementNote(o Request, getenv func(string) string) string {
	if l.Kind != "srun" {
		return ""
	}
	p, err := planSrun(o, getenv)
	if err != nil {
		return ""
	}
	return p.note
}

// MPINote says which --mpi plugin srun gets and why, for --verbose; ""
// for mpirun.
func (l *Launcher) MPINote(o Request) string {
	switch {
	case l.Kind != "srun":
		return ""
	case hasArg(o.LauncherArgs, "--mpi"):
		return "srun: --mpi from the launcher arguments"
	case l.MPIPlugin == "":
		return "srun: no --mpi: " + l.MPIWhy
	}
	return "srun: --mpi=" + l.MPIPlugin + " (" + l.MPIWhy + ")"
}

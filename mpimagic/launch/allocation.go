package launch

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// localRankLimit is the most ranks a local run may have: oversubscribing a
// few cores is fine for teaching, hundreds of ranks on a laptop are a typo.
func localRankLimit(cores int) int { return max(64, 16*cores) }

// CheckAllocation reports, as a plain error, -n beyond what the ranks would
// run on: the CPUs of the SLURM allocation for srun, or for an mpirun inside
// one (planSrun), the slots of --hosts or --hostfile, or (locally)
// localRankLimit.
func CheckAllocation(o Request, l *Launcher, getenv func(string) string, cores int) error {
	switch {
	case l.Kind == "srun":
		_, err := planSrun(o, getenv)
		return err
	case getenv("SLURM_JOB_ID") != "" && o.Hosts == "" && o.Hostfile == "":
		// an mpirun inside the allocation starts the ranks on its nodes:
		// the same CPUs bound them
		if hasArg(o.LauncherArgs, "--oversubscribe") {
			return nil
		}
		_, err := planSrun(o, getenv)
		return err
	case o.Hosts != "":
		slots, err := hostSlots(o.Hosts)
		if err != nil {
			return err
		}
		if o.N > slots && !hasArg(o.LauncherArgs, "--oversubscribe") {
			return fmt.Errorf("-n %d is more ranks than --hosts %s has slots (%d). Use -n %d or less, add hosts, or pass -- --oversubscribe (Open MPI)", o.N, o.Hosts, slots, slots)
		}
	case o.Hostfile != "":
		slots, err := hostfileSlots(o.Hostfile)
		if err != nil {
			return err
		}
		if slots > 0 && o.N > slots && !hasArg(o.LauncherArgs, "--oversubscribe") {
			return fmt.Errorf("-n %d is more ranks than --hostfile %s has slots (%d). Use -n %d or less, or add hosts", o.N, o.Hostfile, slots, slots)
		}
	default:
		if limit := localRankLimit(cores); o.N > limit {
			return fmt.Errorf("-n %d is too many ranks for this machine's %d cores (mpigo runs at most %d here): "+
				"run on a cluster allocation (salloc, then %%mpirun uses srun) or on more hosts with --hosts", o.N, cores, limit)
		}
	}
	return nil
}

// hasArg reports whether args holds one of names (alone or as name=...).
func hasArg(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if a == n || strings.HasPrefix(a, n+"=") {
				return true
			}
		}
	}
	return false
}

// srunPlan is how srun places the ranks of one launch in the allocation.
type srunPlan struct {
	// cpusPerRank is srun's --cpus-per-task; 0 passes none.
	cpusPerRank int
	// nodes is srun's --nodes, set when there are fewer ranks than
	// nodes (srun would otherwise warn that it cannot use them all); 0
	// passes none.
	nodes int
	// note tells the user what was done when it is not one rank per task
	// of the allocation; "" otherwise.
	note string
}

// planSrun fits o.N ranks into the SLURM allocation described by getenv
// (SLURM_JOB_CPUS_PER_NODE, SLURM_CPUS_PER_TASK, SLURM_JOB_NUM_NODES):
//
//   - up to one rank per task of the allocation (its CPUs divided by the
//     CPUs per task): each rank gets its task's CPUs (--cpus-per-task,
//     passed explicitly, as srun before Slurm 23.11 does not inherit it);
//   - more ranks, up to the allocation's CPUs: one CPU each
//     (--cpus-per-task=1), which is how an allocation of one task with
//     many CPUs (salloc -c 8, batchspawner's default) runs 8 ranks;
//   - beyond the CPUs: an error that says how to get more, unless the
//     launcher arguments ask for --overcommit or their own --cpus-per-task
//     (then only the CPUs are checked).
//
// With no SLURM_JOB_CPUS_PER_NODE (an unknown allocation) nothing is
// checked and srun decides.
func planSrun(o Request, getenv func(string) string) (srunPlan, error) {
	var p srunPlan
	if nodes, err := strconv.Atoi(slurm.FirstSet(getenv, "SLURM_JOB_NUM_NODES", "SLURM_NNODES")); err == nil &&
		o.N < nodes && o.Hosts == "" && !hasArg(o.LauncherArgs, "-N", "--nodes", "-w", "--nodelist") {
		p.nodes = o.N
	}
	cpusText := getenv("SLURM_JOB_CPUS_PER_NODE")
	cpus := slurm.CPUs(cpusText)
	if cpus == 0 || hasArg(o.LauncherArgs, "--overcommit", "-O") {
		return p, nil
	}
	job := getenv("SLURM_JOB_ID")
	tooMany := func(limit int, why string) error {
		return fmt.Errorf("-n %d is more ranks than this SLURM allocation (job %s) can run: %s, so %d ranks at most. %s",
			o.N, job, why, limit, moreRanksHint(o, limit))
	}
	if userPer, ok := argValue(o.LauncherArgs, "-c", "--cpus-per-task"); ok {
		per, err := strconv.Atoi(userPer)
		if err != nil || per < 1 {
			return p, nil // srun will say what is wrong with it
		}
		if limit := cpus / per; o.N > limit {
			return p, tooMany(limit, fmt.Sprintf("it has %d CPUs (SLURM_JOB_CPUS_PER_NODE=%s) and each rank asks for %d (--cpus-per-task)", cpus, cpusText, per))
		}
		return p, nil
	}
	per, err := strconv.Atoi(slurm.FirstSet(getenv, "SLURM_CPUS_PER_TASK", "SRUN_CPUS_PER_TASK"))
	if err != nil || per < 1 {
		per = 1
	}
	switch {
	case o.N*per <= cpus:
		if per > 1 {
			p.cpusPerRank = per
		}
	case o.N <= cpus:
		tasks := cpus / per
		p.cpusPerRank = 1
		p.note = fmt.Sprintf("1 CPU per rank: the allocation's %d CPUs hold %s of %d CPUs, and %d ranks were asked for",
			cpus, tasksOf(tasks), per, o.N)
	default:
		return p, tooMany(cpus, fmt.Sprintf("it has %d CPUs (SLURM_JOB_CPUS_PER_NODE=%s) and each rank needs one", cpus, cpusText))
	}
	return p, nil
}

// moreRanksHint says how to run n ranks when the allocation holds limit:
// fewer ranks, a batch job, or a bigger allocation.
func moreRanksHint(o Request, limit int) string {
	if o.Command { // mpigo run
		return fmt.Sprintf("Use -n %d or less, submit the run as a batch job (sbatch --ntasks=%d), or run it in a bigger allocation (salloc -n %d)", limit, o.N, o.N)
	}
	return fmt.Sprintf("Use -n %d or less; or submit the cell as a batch job, which waits in the queue for %d CPUs: %%mpirun -n %d --sbatch; "+
		"or start the notebook in a bigger allocation (salloc -n %d, or more CPUs in JupyterHub's spawner options)", limit, o.N, o.N, o.N)
}

// argValue returns the value of the first of names in args, given as
// "name value", "name=value" or (for a one-letter flag) "-cVALUE".
func argValue(args []string, names ...string) (string, bool) {
	for i, a := range args {
		for _, n := range names {
			switch {
			case a == n && i+1 < len(args):
				return args[i+1], true
			case strings.HasPrefix(a, n+"="):
				return a[len(n)+1:], true
			case len(n) == 2 && strings.HasPrefix(a, n) && len(a) > 2 && !strings.HasPrefix(a, "--"):
				return a[2:], true
			}
		}
	}
	return "", false
}

// hostSlots adds up the slots of --hosts h1:4,h2:4 (a host alone is 1).
func hostSlots(hosts string) (int, error) {
	total := 0
	for _, h := range strings.Split(hosts, ",") {
		name, count, ok := strings.Cut(strings.TrimSpace(h), ":")
		if name == "" {
			return 0, fmt.Errorf("--hosts %q: an empty host name; write h1:4,h2:4", hosts)
		}
		n := 1
		if ok {
			var err error
			if n, err = strconv.Atoi(count); err != nil || n < 1 {
				return 0, fmt.Errorf("--hosts %q: %q is not a number of slots; write h1:4,h2:4", hosts, count)
			}
		}
		total += n
	}
	return total, nil
}

// hostfileSlots adds up the slots of a hostfile in Open MPI's format (host
// slots=N) or MPICH's (host:N). It returns 0 when a host gives no count
// (the launcher then counts its cores, which we cannot know).
func hostfileSlots(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("--hostfile: %w", err)
	}
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		n := 0
		if _, c, ok := strings.Cut(fields[0], ":"); ok {
			n, _ = strconv.Atoi(c)
		}
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(f, "slots="); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		if n < 1 {
			return 0, nil
		}
		total += n
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("--hostfile: %w", err)
	}
	return total, nil
}

// Cores counts the cores this process may run on, as Open MPI counts
// slots: hardware threads of one core count once. Read once: every cell
// asks, and the machine does not change under a running kernel.
var Cores = sync.OnceValue(func() int {
	n := runtime.NumCPU()
	cpus, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*/topology/core_id")
	if len(cpus) == 0 {
		return n
	}
	seen := map[string]bool{}
	for _, p := range cpus {
		core, err1 := os.ReadFile(p)
		pkg, err2 := os.ReadFile(filepath.Join(filepath.Dir(p), "physical_package_id"))
		if err1 != nil || err2 != nil {
			return n
		}
		seen[strings.TrimSpace(string(pkg))+"/"+strings.TrimSpace(string(core))] = true
	}
	return max(1, min(n, len(seen)))
})

// tasksOf says "1 task" or "N tasks".
func tasksOf(n int) string {
	if n == 1 {
		return "1 task"
	}
	return fmt.Sprintf("%d tasks", n)
}

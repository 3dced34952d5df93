package mpimagic

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// localRankLimit is the most ranks a local run may have: oversubscribing a
// few cores is fine for teaching, hundreds of ranks on a laptop are a typo.
func localRankLimit(cores int) int { return max(64, 16*cores) }

// checkAllocation reports, as a plain error, -n beyond what the ranks would
// run on: the SLURM allocation for srun, the slots of --hosts or
// --hostfile, or (locally) localRankLimit.
func checkAllocation(o Options, l *launcher, getenv func(string) string, cores int) error {
	switch {
	case l.kind == "srun":
		cpus := slurmCPUs(getenv("SLURM_JOB_CPUS_PER_NODE"))
		if cpus == 0 || hasArg(o.LauncherArgs, "--overcommit", "-O") {
			return nil
		}
		per, err := strconv.Atoi(getenv("SLURM_CPUS_PER_TASK"))
		if err != nil || per < 1 {
			per = 1
		}
		if slots := cpus / per; o.N > slots {
			return fmt.Errorf("-n %d is more ranks than this SLURM allocation (job %s) holds: %d CPUs (SLURM_JOB_CPUS_PER_NODE=%s) at %d per task make %d ranks at most. "+
				"Use -n %d or less, or ask for a bigger allocation (salloc -n %d)",
				o.N, getenv("SLURM_JOB_ID"), cpus, getenv("SLURM_JOB_CPUS_PER_NODE"), per, slots, slots, o.N)
		}
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

// slurmCPUs adds up SLURM_JOB_CPUS_PER_NODE, e.g. "16(x2),4" is 36; 0 when
// it is empty or malformed.
func slurmCPUs(s string) int {
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

// physicalCores counts the cores this process may run on, as Open MPI counts
// slots: hardware threads of one core count once.
func physicalCores() int {
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
}

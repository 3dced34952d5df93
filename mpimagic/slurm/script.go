package slurm

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpimagic/shell"
)

// Batch holds the SLURM settings of a job (the sub-flags of %mpirun
// --sbatch and --export); empty fields are left to SLURM's defaults.
type Batch struct {
	Partition string // -p
	Time      string // -t, in SLURM's format (minutes, HH:MM:SS, D-HH:MM, ...)
	Nodes     string // -N, a number or MIN-MAX
	Account   string // --account
}

var (
	// slurmTime matches SLURM's time formats: MM, MM:SS, HH:MM:SS, D-HH,
	// D-HH:MM, D-HH:MM:SS.
	slurmTime = regexp.MustCompile(`^(\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+|UNLIMITED|unlimited|infinite)$`)
	// slurmNodes matches a node count: N or MIN-MAX.
	slurmNodes = regexp.MustCompile(`^[1-9]\d*(-[1-9]\d*)?$`)
	// slurmName matches a partition list or an account.
	slurmName = regexp.MustCompile(`^[A-Za-z0-9_.,+@:-]+$`)
)

// Check rejects values that SLURM would not read, or that would not stay
// on their #SBATCH line.
func (b Batch) Check() error {
	switch {
	case b.Time != "" && !slurmTime.MatchString(b.Time):
		return fmt.Errorf("-t %q: want a SLURM time limit: minutes, HH:MM:SS or D-HH:MM:SS", b.Time)
	case b.Nodes != "" && !slurmNodes.MatchString(b.Nodes):
		return fmt.Errorf("-N %q: want a number of nodes, or MIN-MAX", b.Nodes)
	case b.Partition != "" && !slurmName.MatchString(b.Partition):
		return fmt.Errorf("-p %q: want a partition name (letters, digits, _ . - ; several separated by commas)", b.Partition)
	case b.Account != "" && !slurmName.MatchString(b.Account):
		return fmt.Errorf("--account %q: want an account name (letters, digits, _ . -)", b.Account)
	}
	return nil
}

// Duration formats d, rounded up to the minute, as SLURM's
// [D-]HH:MM:SS.
func Duration(d time.Duration) string {
	mins := int64(math.Ceil(d.Minutes()))
	if mins < 1 {
		mins = 1
	}
	days, h, m := mins/(24*60), mins/60%24, mins%60
	if days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:00", days, h, m)
	}
	return fmt.Sprintf("%02d:%02d:00", h, m)
}

// Directives are the #SBATCH lines of a job:
// name, tasks, time limit (none when limit is ""), output file, then the
// partition, nodes and account the cell asked for.
func Directives(name string, ntasks int, limit, output string, b Batch) []string {
	lines := []string{"#SBATCH --job-name=" + name, fmt.Sprintf("#SBATCH --ntasks=%d", ntasks)}
	if limit != "" {
		lines = append(lines, "#SBATCH --time="+limit)
	}
	lines = append(lines, "#SBATCH --output="+output)
	for _, f := range []struct{ flag, value string }{{"partition", b.Partition}, {"nodes", b.Nodes}, {"account", b.Account}} {
		if f.value != "" {
			lines = append(lines, "#SBATCH --"+f.flag+"="+f.value)
		}
	}
	return lines
}

// WriteExports writes an export line for each K=V of env.
func WriteExports(b *strings.Builder, env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(b, "export %s=%s\n", k, shell.Quote(v))
	}
}

// shellName matches the names a shell can export.
var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckEnv rejects --env names that a job script could not export.
func CheckEnv(env []string) error {
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !shellName.MatchString(k) {
			return fmt.Errorf("--env %s: %q is not a name a shell can export (letters, digits and _), so a job script could not set it", kv, k)
		}
	}
	return nil
}

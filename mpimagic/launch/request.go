package launch

import (
	"time"

	"github.com/mpigo/mpigo/mpimagic/environ"
)

// Request is what one launch is asked for: the flags that decide how its
// ranks start and how they are judged, and the environment they start
// from.
type Request struct {
	N            int           // ranks
	Hosts        string        // --hosts h1:4,h2:4
	Hostfile     string        // --hostfile F
	LauncherArgs []string      // passed to the launcher before the program
	Env          []string      // --env K=V for every rank
	Timeout      time.Duration // --timeout; 0: none
	// Command is set for `mpigo run` (its hints name a batch job, not
	// --sbatch), clear for a cell.
	Command bool
	// Environ is the environment the launch starts from, read once.
	Environ environ.Env
}

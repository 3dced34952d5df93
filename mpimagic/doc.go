// Package mpimagic is mpigo's %mpirun cell magic and `mpigo run`: it turns a
// notebook cell (or a Go file or directory) into an MPI program, builds it,
// launches it on N ranks and brings every rank's output back, live.
//
// The steps of a cell, and the files that do them:
//
//   - options.go: the flags (Parse), with the usage texts.
//   - split.go, generate.go, edits.go: the program (Generate). The cell is
//     cut into top-level pieces with Go's scanner; imports and declarations
//     go to package level, statements into main, between mpi.Init and
//     mpi.Finalize. The declarations of earlier cells that the cell uses,
//     directly or through each other, are compiled in (selectDecls), each
//     after a //line directive naming its cell, so compiler errors and
//     tracebacks name the lines the user sees. Missing imports are added
//     (goeval.MissingImports), unused ones blanked out, and every declared
//     local variable marked used, with edits that keep every position.
//   - source.go, toolchain.go, build.go: the build. The mpi, display and
//     rankio sources embedded in mpigo (mpigo.Sources) are written once to
//     CACHE/src/HASH; a program is built in CACHE/build/KEY, KEY hashing its
//     source, the Go version, the MPI flavour and its flags, in a temporary
//     directory renamed into place (two kernels building the same program
//     at once are fine). Go's own build cache is shared, so a one-line edit
//     recompiles only the main package. Internal linking is tried first (it
//     is several times faster than the C linker); external linking is the
//     fallback.
//   - launcher.go, allocation.go: the launcher: srun inside a SLURM
//     allocation, else mpirun (Open MPI or MPICH, told apart by mpirun
//     --version; the program is built for the same MPI); its command line
//     (for srun: the --mpi plugin, chooseMPIPlugin; --overlap inside a job
//     step; the ranks fitted to the allocation's CPUs, planSrun) and its
//     environment, cleared of an enclosing job's or step's variables
//     (launcherEnv); the checks of -n against the allocation.
//   - launch.go, collect.go, emitter.go, wrapper.go and package rankio: the
//     run. The launcher starts a small wrapper on every rank (rankio, built
//     from the embedded sources; `mpigo rankio` as a fallback). The wrapper
//     runs the program with its stdout and stderr on pipes and sends what
//     it writes, then its exit status and wall time, over a TCP connection
//     (authenticated by a token) to a collector in the kernel, which cuts
//     the bytes into lines prefixed "[rank N] ". Every byte is attributed
//     to its rank whatever the launcher does with its own output, and the
//     last words of a rank that dies still arrive: the wrapper outlives its
//     program. Stopping (interrupt, --timeout, another rank's failure) is
//     SIGTERM to the launcher's process group and, through the wrappers, to
//     every program, then SIGKILL to all after a grace period; a rank whose
//     connection breaks (the kernel died) is killed by its wrapper.
//   - report.go, verdict.go, progress.go: the progress line updated in
//     place, the summary (identical outputs folded, long ones collapsed)
//     and the cell's error.
//   - export.go, jobscript.go: %mpirun --export DIR, which writes the cell
//     out instead of running it: the same program (comments naming the
//     cells instead of //line directives; the `_ = x` marks and imports
//     tidied when that still compiles), a go.mod taking mpigo's module
//     from the embedded sources written beside it, and a SLURM job file
//     made from the flags that builds and runs it (srun in a job, mpiexec
//     elsewhere). An export replaces only files an earlier export wrote
//     and nobody changed since (the manifest DIR/.mpigo-export).
//   - sbatch.go: %mpirun --sbatch, which builds the cell here and submits
//     it as a SLURM batch job (a job script in a private directory under
//     the cache, which the nodes see; srun runs the wrapper and the
//     program), shows the job's queue state from scontrol (squeue, sacct)
//     while the ranks' output comes back over the same TCP channel, and
//     cancels the job with scancel on interrupt or --timeout.
//   - magic.go, cli.go: the two entry points, Magic.Cell and
//     Magic.RunCommand.
package mpimagic

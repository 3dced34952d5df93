// Package launch starts the ranks of a program and brings their output
// back:
//
//   - launcher.go, allocation.go: the launcher (FindLauncher): srun inside
//     a SLURM allocation, else mpirun (Open MPI or MPICH, told apart by
//     mpirun --version); its command line (for srun: the --mpi plugin,
//     --overlap inside a job step, the ranks fitted to the allocation's
//     CPUs); the checks of -n against the allocation, the hosts or this
//     machine (CheckAllocation).
//   - collect.go, emitter.go: the collector, the kernel's end of the rank
//     I/O channel (package rankio): one TCP connection per rank,
//     authenticated by a token, whose output frames become "[rank N] "
//     lines on the emitter, which batches them for the notebook; and how
//     each rank ended (RankResult).
//   - supervise.go, launch.go: one supervisor for every way ranks run. A
//     Backend (the launcher's process group here, a SLURM batch job in
//     package mpimagic) carries out what the Supervisor decides: when to
//     stop the ranks (an interrupt, --timeout, a failed rank), when a stop
//     becomes a kill, how long to wait for the backend and for the ranks'
//     connections. Run launches a Job with the launcher and returns its
//     Outcome.
package launch

// Package px is the kernel's side of persistent ranks (%ranks, %px): a Pool
// starts N rank interpreters once under the MPI launcher, each of which
// connects back over a token-protected TCP channel (package pxwire), then
// runs cells on all of them or a subset, each rank keeping its state from
// cell to cell, until it is stopped.
//
// The pool owns everything it starts: the launcher runs in a process group
// of its own (a job step under srun), and Close (%ranks stop, kernel
// shutdown or restart, a failed start) asks the ranks to stop, then
// terminates and kills that group, so that no rank outlives it. Ranks in a
// batch job (Spec.Submit, a Job) are followed on the progress line while
// they start, and Close cancels their job. Should the
// kernel be killed outright, the launcher gets SIGTERM from the kernel's
// death (Pdeathsig) and the ranks see their connection close.
//
// Everything a peer sends is hostile until its hello carried the token:
// the hello is bounded in size (pxwire.MaxHello) and in time, each
// connection is served on its own so that a slow or bad peer holds no
// other, and the listener closes once every rank said hello.
//
//	pool.go    Config, Spec, Start, Close and the launcher's process group
//	job.go     Job: the ranks in a batch job, its state, its end
//	conn.go    the listener, hellos, and each rank's connection
//	cell.go    Run: one cell on the ranks, its output, interrupt, --out
//	summary.go what a cell reports: the summary, the errors
package px

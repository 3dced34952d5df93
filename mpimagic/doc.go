// Package mpimagic is mpigo's %mpirun cell magic and `mpigo run`: it turns
// a notebook cell (or a Go file or directory) into an MPI program, builds
// it, launches it on N ranks and brings every rank's output back, live.
//
// One cell reads top-down, each step in a package of its own:
//
//	parse      options.go        the flags (Parse) and their usage texts
//	program    package program   the cell cut into pieces, main.go generated
//	                             around it with the declarations of earlier
//	                             cells it uses; //line directives name the
//	                             cell's lines in compile errors
//	build      package build     the toolchain for the launcher's MPI, the
//	                             embedded mpi sources, the build cache, the
//	                             rank wrapper's binary
//	launch     package launch    the launcher (srun in an allocation, else
//	                             mpirun), -n against the allocation, the
//	                             collector of the ranks' output, and one
//	                             supervisor for every way ranks run
//	report     package report    the progress line, the summary and the
//	                             cell's error, one constructor per kind
//
// %mpirun --out NAME brings the value of the cell's final expression on
// every rank back into the notebook: program.GenerateOut makes the final
// expression rankout.Send(EXPR) (package rankio/rankout: gob with the
// static type as a plain cell writes it, and JSON); the rank wrapper,
// started with rankio.ValueFlag, gives the program a pipe for it and sends
// what comes through as FrameValue frames on the rank I/O channel, beside
// the output but never mixed with it; the collector keeps each rank's,
// bounded by rankio.MaxValue (launch.RankResult.Value); and once every
// rank succeeded out.go checks them (a rank may send anything: the type
// must be a type expression, the JSON JSON) and hands them, in rank order,
// to Config.SetOut, as %px --out does. --out is refused with --export and
// --sbatch, whose ranks send nothing back to this kernel.
//
// Package slurm holds what mpigo knows of SLURM (step variables, CPUs,
// srun's MPI plugins, job states, #SBATCH lines); package environ the
// environment read once per cell and what child processes inherit of it;
// package shell the quoting of commands shown and scripts written; package
// rankio the wrapper every rank runs and its channel back to the kernel.
//
// This package keeps the entry points and the orchestration:
//
//   - magic.go: Magic, its caches, and Cell, the %mpirun cell.
//   - pipeline.go: the stages every way of running shares (startRun,
//     setup, provide, build, launch); each front end words their errors
//     its own way. provide has the module session (Config.Modules, a
//     *gomod.Session) make the program's imports of other modules than
//     mpigo's importable; the build then uses the session's requirements
//     (go.mod, go.sum, local modules) and is cached by their key. An
//     import no module provides is an ImportError at the cell line of the
//     import.
//   - cli.go: RunCommand, `mpigo run FILE.go|DIR`.
//   - export.go, jobscript.go: %mpirun --export DIR, which writes the cell
//     out as a program that stands alone (comments naming the cells
//     instead of //line directives, imports tidied when that still
//     compiles), a go.mod taking mpigo's module from the embedded sources
//     written beside it, and a SLURM job file made from the flags. An export
//     replaces only files an earlier export wrote and nobody changed since
//     (the manifest DIR/.mpigo-export). exportmod.go: the export's go.mod
//     and go.sum carry the session's requirements; --vendor adds vendor/.
//   - sbatch.go, batchjob.go, batchreport.go: %mpirun --sbatch, which
//     builds the cell here and submits it as a SLURM batch job (a job
//     script in a private directory under the cache, which the nodes see),
//     follows it through a batch backend of the supervisor (its queue
//     state from scontrol, squeue or sacct on the progress line, the ranks'
//     output back over the same TCP channel), cancels it with scancel on
//     interrupt or --timeout, and reports SLURM's own stops as such.
//   - out.go: %mpirun --out: the ranks' values checked and handed to
//     Config.SetOut.
//   - ranks.go: %ranks (start, stop, restart, the table) and %px, the
//     persistent ranks: the flags and the launcher as for %mpirun, the
//     rank interpreter from Config.BuildRank, and a px.Pool (package px)
//     that owns the ranks until %ranks stop or Close. ranksjob.go: %ranks
//     start --sbatch, the ranks as a batch job (the job script and the
//     submission of --sbatch, px.Job over slurm's poller and scancel); a
//     job that ended by itself is reported by the next %px or %ranks.
package mpimagic

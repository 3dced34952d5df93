package mpimagic

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// Options are the flags of %mpirun and of `mpigo run`.
type Options struct {
	N        int           // number of ranks (-n, -np)
	Timeout  time.Duration // 0: none
	Hosts    string        // --hosts h1:4,h2:4
	Hostfile string        // --hostfile F
	// Launcher is "auto", "srun", "mpirun", or the name or path of a
	// specific mpirun or mpiexec (e.g. mpirun.mpich).
	Launcher string
	Env      []string // --env K=V, in order
	Verbose  bool
	// LauncherArgs are passed to the launcher before the program: the words
	// after "--" for the magic, --launcher-arg for `mpigo run`.
	LauncherArgs []string
	// Target and ProgramArgs are the FILE.go or DIR of `mpigo run` and the
	// arguments of the program; empty for the magic.
	Target      string
	ProgramArgs []string
	// Help is set by --help: show Usage instead of running.
	Help bool
	// Export is the directory of --export: the cell is written there as a
	// standalone program with a SLURM job file instead of being run.
	Export string
	// Vendor is set by --vendor (with --export): the export holds the
	// packages of the modules the program imports, in DIR/vendor.
	Vendor bool
	// Sbatch is set by --sbatch: the cell is built here and submitted as a
	// SLURM batch job (see sbatch.go) instead of being launched here.
	Sbatch bool
	// Batch holds the SLURM settings given with --export or --sbatch (-p,
	// -t, -N, --account).
	Batch slurm.Batch
	// Out is the NAME of --out NAME: each rank's value of the cell's final
	// expression goes into the notebook session as NAME, a slice indexed
	// by rank. "": none.
	Out string
	// env is the environment the run works with, read once (see package environ).
	env environ.Env
}

// Mode selects the flavour of the command line Parse reads.
type Mode int

const (
	// ModeMagic parses the words after %mpirun.
	ModeMagic Mode = iota
	// ModeRun parses the arguments of `mpigo run`.
	ModeRun
)

// UsageError is a command line that Parse rejected; Error() is the reason,
// Usage the full usage text to show with it.
type UsageError struct {
	Reason string
	Usage  string
}

// Error returns the reason.
func (e *UsageError) Error() string { return e.Reason }

// MagicUsage is the text of %mpirun --help.
const MagicUsage = `%mpirun -n N [flags] [-- LAUNCHER ARGS]     (or %%mpirun)
<Go statements, or a whole program with its own func main>

Builds the cell as a Go MPI program and runs it on N ranks. Every line a rank
prints is shown live as "[rank N] line"; a summary follows at the end.

The cell is the body of main unless it declares func main; MPI is initialised
before it and finalised after it. Package mpi (mpi.World, Send, Recv, Bcast,
Reduce, ...), display and the standard library are imported as needed. Other
packages are imported as usual (import "gonum.org/v1/gonum/mat"): the module
that provides one is required at the version the notebook already uses, else
at its latest (as go get does), with your Go environment (GOPROXY, GOFLAGS,
module cache); an import that cannot be had is an ImportError at its line. The
declarations of earlier cells, plain and %mpirun (imports, func, type, const
and var; var with its declared value, recomputed in each rank) are compiled
in; the latest definition wins. Variables made with := in earlier cells are
not. Functions that use package mpi go in %mpirun cells (plain cells cannot
load it).

Flags:
  -n, -np N              number of ranks (default in a SLURM allocation:
                         $SLURM_NTASKS, or inside a job step the allocation's
                         CPUs; required otherwise)
  --timeout D            stop every rank after D (5s, 2m, 1h; a number is seconds)
  --hosts H1:N1,H2:N2    run on these hosts with these many slots each
  --hostfile FILE        run on the hosts of FILE (mpirun's format)
  --launcher L           auto (default): srun inside a SLURM allocation, else
                         mpirun; srun; mpirun; or the name or path of a
                         specific mpirun, e.g. mpirun.mpich
  --env K=V              set K=V for the ranks (repeatable)
  --out NAME             end the cell with an expression (sum, or
                         Point{x, y}): its value on each rank comes back
                         into the notebook as NAME, a slice indexed by
                         rank. NAME is typed ([]float64, []Point for a type
                         of a plain cell) when the notebook knows the
                         expression's type and gob can carry the value,
                         else a []any of the values as JSON decodes them.
                         Set only when every rank succeeds; a value is at
                         most 64 MiB encoded. Not with --export or --sbatch
  --verbose              show the generated program, build and launch commands
  --export DIR           do not run the cell: write it to DIR as a standalone
                         program (main.go with the earlier declarations it
                         uses, go.mod, the mpi package) and a SLURM job file,
                         job.sh, that builds and runs it with the cell's flags:
                         cd DIR && sbatch job.sh (or bash DIR/job.sh without
                         SLURM). With --export, -p PART, -t TIME, -N NODES and
                         --account A fill job.sh's #SBATCH lines. A cell that
                         imports packages of other modules (gonum.org/...)
                         is exported with the notebook's requirements in
                         go.mod and go.sum: the job builds from the module
                         cache, offline when it holds them; local modules
                         (%go get ./dir) stay at their absolute directory
  --vendor               with --export: also copy those modules' packages
                         into DIR/vendor (go mod vendor, with your GOPROXY);
                         job.sh then builds with -mod=vendor and needs
                         neither network nor module cache
  --sbatch [-p PART] [-t TIME] [-N NODES] [--account A]
                         submit the cell as a SLURM batch job, for when the
                         kernel is not in an allocation big enough for -n:
                         the program is built here (in ~/.cache/mpigo, which
                         the compute nodes must see), the job runs it with
                         srun, and the ranks' output comes back live. The
                         progress line shows the job's state (pending,
                         running on NODES); the cell ends with the job's
                         final state; interrupting it cancels the job
                         (scancel). -p, -t, -N, --account and the words
                         after -- go to sbatch; --timeout D sets the job's
                         time limit when -t does not, and cancels the job D
                         after it started. Inside an allocation, --sbatch
                         still submits a new job (a plain %mpirun uses the
                         allocation with srun)
  --help                 this help
  -- ARGS                everything after -- goes to the launcher, e.g.
                         %mpirun -n 4 -- --bind-to core (to sbatch with
                         --sbatch, e.g. -- --mem=4G)

Interrupting the cell (or --timeout) stops every rank and says which ranks
were still running. Builds are cached: re-running an unchanged cell only
launches it.

Example:
  %mpirun -n 4
  rank := mpi.World.Rank()
  sum := make([]int, 1)
  mpi.World.Allreduce([]int{rank}, sum, mpi.Sum)
  fmt.Println("rank", rank, "sum", sum[0])

The same on 32 ranks as a batch job on two nodes of partition compute, with
a 10-minute limit: %mpirun -n 32 --sbatch -p compute -N 2 -t 10
`

// RunUsage is the text of mpigo run --help.
const RunUsage = `usage: mpigo run -n N [flags] FILE.go|DIR [PROGRAM ARGS...]

Builds a Go MPI program (one file, or the package main in DIR) with the mpi
package embedded in mpigo, and runs it on N ranks. Each output line is
prefixed with "[rank N] ". The exit status is 0 when every rank exited 0.

Packages of other modules: a FILE.go, or a DIR without a go.mod, may import
them; the module of each is required at its latest version (as go get
does), with your Go environment (GOPROXY, GOFLAGS, GONOSUMDB, module cache),
for this run only. A DIR with its own go.mod is built as that module, in
place, as go build would build it there: its requirements (go.mod, go.sum,
vendor/), your Go environment, and github.com/mpigo/mpigo from the mpi
package embedded in mpigo.

Flags:
  -n, -np N              number of ranks (default in a SLURM allocation:
                         $SLURM_NTASKS, or inside a job step the allocation's
                         CPUs; required otherwise)
  --timeout D            stop every rank after D (5s, 2m; a number is seconds)
  --hosts H1:N1,H2:N2    run on these hosts with these many slots each
  --hostfile FILE        run on the hosts of FILE
  --launcher L           auto (default), srun, mpirun, or a specific mpirun
  --env K=V              set K=V for the ranks (repeatable)
  --launcher-arg ARG     pass ARG to the launcher (repeatable)
  --verbose              show the build and launch commands
  --help                 this help
`

// Parse parses a command line of the given mode. For --help it returns
// Options with Help set and no error. A bad command line is a *UsageError.
func Parse(args []string, mode Mode, env environ.Env) (Options, error) {
	usage := MagicUsage
	if mode == ModeRun {
		usage = RunUsage
	}
	bad := func(err error) (Options, error) {
		return Options{}, &UsageError{Reason: err.Error(), Usage: usage}
	}
	o := Options{Launcher: "auto", env: env}
	fs, n, timeout := o.flagSet(mode)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Options{Help: true, env: env}, nil
		}
		return bad(err)
	}
	if err := o.positional(mode, args, fs.Args()); err != nil {
		return bad(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	if o.N, err = ranks(*n, set["n"] || set["np"], env); err != nil {
		return bad(err)
	}
	if *timeout != "" {
		if o.Timeout, err = parseTimeout(*timeout); err != nil {
			return bad(fmt.Errorf("--timeout %q: %v", *timeout, err))
		}
	}
	if err := o.check(mode, set["export"]); err != nil {
		return bad(err)
	}
	return o, nil
}

// flagSet is the flags of mode, parsed into o; -n and --timeout go to the
// returned values, checked after parsing.
func (o *Options) flagSet(mode Mode) (fs *flag.FlagSet, n *int, timeout *string) {
	fs = flag.NewFlagSet("mpirun", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	n = fs.Int("n", 0, "")
	fs.IntVar(n, "np", 0, "")
	timeout = fs.String("timeout", "", "")
	fs.StringVar(&o.Hosts, "hosts", "", "")
	fs.StringVar(&o.Hostfile, "hostfile", "", "")
	fs.StringVar(&o.Launcher, "launcher", "auto", "")
	fs.Func("env", "", func(s string) error {
		k, _, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\x00") {
			return fmt.Errorf("want K=V, got %q", s)
		}
		o.Env = append(o.Env, s)
		return nil
	})
	fs.BoolVar(&o.Verbose, "verbose", false, "")
	if mode == ModeMagic {
		fs.StringVar(&o.Export, "export", "", "")
		fs.StringVar(&o.Out, "out", "", "")
		fs.BoolVar(&o.Vendor, "vendor", false, "")
		fs.BoolVar(&o.Sbatch, "sbatch", false, "")
		fs.StringVar(&o.Batch.Partition, "p", "", "")
		fs.StringVar(&o.Batch.Time, "t", "", "")
		fs.StringVar(&o.Batch.Nodes, "N", "", "")
		fs.StringVar(&o.Batch.Account, "account", "", "")
	} else {
		fs.Func("launcher-arg", "", func(s string) error {
			o.LauncherArgs = append(o.LauncherArgs, s)
			return nil
		})
	}
	return fs, n, timeout
}

// positional reads the words after the flags (rest, of args): the
// launcher's arguments after -- for the magic, the program and its
// arguments for mpigo run.
func (o *Options) positional(mode Mode, args, rest []string) error {
	dashdash := len(rest) < len(args) && args[len(args)-len(rest)-1] == "--"
	switch mode {
	case ModeMagic:
		if len(rest) > 0 && !dashdash {
			return fmt.Errorf("unexpected argument %q: arguments for the launcher go after --", rest[0])
		}
		if len(rest) > 0 {
			o.LauncherArgs = rest
		}
	case ModeRun:
		if len(rest) == 0 {
			return errors.New("missing the program: a FILE.go or a DIR")
		}
		o.Target = rest[0]
		if len(rest) > 1 {
			o.ProgramArgs = rest[1:]
		}
	}
	return nil
}

// ranks is the number of ranks: -n when given (given), else the SLURM
// allocation's.
func ranks(n int, given bool, env environ.Env) (int, error) {
	switch {
	case given:
	case slurm.InJobStep(env.Get) && slurm.CPUs(env.Get("SLURM_JOB_CPUS_PER_NODE")) > 0:
		// Inside a job step (a notebook server under batchspawner's srun),
		// $SLURM_NTASKS is the step's, usually 1: the allocation's CPUs are
		// what %mpirun can use.
		n = slurm.CPUs(env.Get("SLURM_JOB_CPUS_PER_NODE"))
	case env.Get("SLURM_NTASKS") != "":
		v, err := strconv.Atoi(env.Get("SLURM_NTASKS"))
		if err != nil || v < 1 {
			return 0, fmt.Errorf("-n is missing and $SLURM_NTASKS (%q) is not a number of ranks", env.Get("SLURM_NTASKS"))
		}
		n = v
	default:
		return 0, errors.New("missing -n: say how many ranks to run, e.g. -n 4")
	}
	if n < 1 {
		return 0, fmt.Errorf("-n %d: the number of ranks must be at least 1", n)
	}
	return n, nil
}

// check rejects flags that do not go together, or values that are not
// understood; exportSet says --export was given.
func (o *Options) check(mode Mode, exportSet bool) error {
	if o.Hosts != "" && o.Hostfile != "" {
		return errors.New("--hosts and --hostfile do not go together: choose one")
	}
	switch o.Launcher {
	case "auto", "srun", "mpirun":
	default:
		if !isMpirunName(o.Launcher) {
			return fmt.Errorf("--launcher %q: want auto, srun, mpirun, or the name or path of an mpirun or mpiexec", o.Launcher)
		}
	}
	if mode != ModeMagic {
		return nil
	}
	if exportSet && strings.TrimSpace(o.Export) == "" {
		return errors.New("--export needs a directory to write the program and its job file to, e.g. --export myjob")
	}
	if err := o.checkOut(); err != nil {
		return err
	}
	if o.Vendor && o.Export == "" {
		return errors.New("--vendor goes with --export only: --export DIR --vendor")
	}
	if !o.Sbatch && o.Export == "" {
		for _, f := range batchFlags(o.Batch) {
			if f.value != "" {
				return fmt.Errorf("%s goes with --export (or --sbatch) only", f.flag)
			}
		}
	}
	if o.Sbatch {
		if err := checkSbatch(*o); err != nil {
			return err
		}
	}
	return o.Batch.Check()
}

// checkOut checks --out: a name the notebook session can declare, for a
// run whose ranks send their values back to this kernel. The program of
// --export runs elsewhere, later, and a batch job's ranks (--sbatch) do
// not send values back yet: both are refused rather than ignored, so that
// no cell seems to set NAME and leaves it as it was.
func (o *Options) checkOut() error {
	switch {
	case o.Out == "":
		return nil
	case !isIdent(o.Out) || o.Out == "_":
		return fmt.Errorf("--out %q: want a Go identifier, the name of the notebook variable to set, e.g. --out sums", o.Out)
	case o.Export != "":
		return errors.New("--out does not go with --export: the exported program runs outside this notebook, which it cannot send values to")
	case o.Sbatch:
		return errors.New("--out does not go with --sbatch yet: run the cell with %mpirun inside an allocation (salloc) to bring values back")
	}
	return nil
}

// batchFlag is one of --sbatch's sub-flags and its value.
type batchFlag struct{ flag, value string }

// batchFlags lists the sub-flags of b in a fixed order.
func batchFlags(b slurm.Batch) []batchFlag {
	return []batchFlag{{"-p", b.Partition}, {"-t", b.Time}, {"-N", b.Nodes}, {"--account", b.Account}}
}

// parseTimeout reads a Go duration or a number of seconds.
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, errors.New("want a duration such as 30s, 5m or 1h30m, or a number of seconds")
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, errors.New("the timeout must be positive")
	}
	return d, nil
}

// isMpirunName reports whether s names a specific mpirun or mpiexec
// (mpirun.mpich, /opt/openmpi/bin/mpiexec, ...).
func isMpirunName(s string) bool {
	base := s[strings.LastIndexByte(s, '/')+1:]
	return strings.HasPrefix(base, "mpirun") || strings.HasPrefix(base, "mpiexec")
}

// request is the launch o asks for.
func (o Options) request() launch.Request {
	return launch.Request{
		N: o.N, Hosts: o.Hosts, Hostfile: o.Hostfile, LauncherArgs: o.LauncherArgs, Env: o.Env,
		Timeout: o.Timeout, Command: o.Target != "", Environ: o.env,
	}
}

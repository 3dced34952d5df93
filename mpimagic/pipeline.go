package mpimagic

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/program"
	"github.com/mpigo/mpigo/mpimagic/report"
)

// A run is one trip through the stages that every way of running an MPI
// program shares: an %mpirun cell (Cell, magic.go), its --sbatch and
// --export forms (sbatch.go, export.go) and `mpigo run` (RunCommand,
// cli.go):
//
//	startRun → setup → provide → build → launch → report
//
// startRun registers the run for Close and gives it its output; setup
// finds the launcher and the toolchain and checks -n against the
// allocation; provide has the module session (Config.Modules) resolve the
// program's imports beyond the standard library and mpigo, and download
// what their build needs; build compiles the program (generated from the cell by
// package program, or a FILE.go or DIR) with the rank wrapper beside it;
// launch runs the ranks here (package launch), or sbatch.go as a batch
// job; package report turns the outcome into the summary and the verdict.
// The stages return plain errors, and each front end words them its own
// way: a cell as a *cellio.Error with its progress line, mpigo run as a
// line on stderr and an exit status.
type run struct {
	m       *Magic
	o       Options
	req     launch.Request
	em      *launch.Emitter
	pr      *report.Progress // nil for mpigo run, which shows none
	verbose func(string)
	// set by setup
	l      *launch.Launcher
	tc     *build.Toolchain
	warmed bool // the build cache holds package mpi (Magic.Warm)
	// set by build
	prog    *build.Program
	wrapper []string // the rank wrapper's command
}

// errNoWrapper is a build without a rank wrapper.
var errNoWrapper = errors.New("no rank wrapper: neither the rankio binary nor mpigo itself could be found")

// allocationError is an -n that the allocation (or the hosts, or this
// machine) cannot hold.
type allocationError struct{ err error }

// Error says why, and what to do.
func (e *allocationError) Error() string { return e.err.Error() }

// startRun begins a run of o that writes to out; it counts for Close
// until end is called. --verbose's lines go to the stream verboseTo, and
// withProgress gives the run a progress line.
func (m *Magic) startRun(ctx context.Context, o Options, out cellio.Output, verboseTo string, withProgress bool) (r *run, runCtx context.Context, end func(), err error) {
	ctx, done, err := m.track(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	em := launch.NewEmitter(out)
	r = &run{m: m, o: o, req: o.request(), em: em, verbose: func(string) {}}
	if withProgress {
		r.pr = report.NewProgress(em)
	}
	if o.Verbose {
		r.verbose = func(s string) { em.Text(verboseTo, []byte("mpigo: "+s+"\n")) }
	}
	return r, ctx, func() { em.Close(); done() }, nil
}

// setup finds the launcher and the toolchain and, when checkAllocation is
// set (a launch from here, not a new batch job), checks -n against what
// the ranks would run on: a refusal is an *allocationError.
func (r *run) setup(ctx context.Context, checkAllocation bool) error {
	r.warmed = r.m.stopWarm() // this run's build goes first, at full speed
	l, tc, err := r.m.setup(ctx, r.o)
	if err != nil {
		return err
	}
	r.l, r.tc = l, tc
	if checkAllocation {
		if err := launch.CheckAllocation(r.req, l, r.o.env.Get, launch.Cores()); err != nil {
			return &allocationError{err}
		}
	}
	return nil
}

// build compiles the program (compile) while the rank wrapper gets ready
// beside it; without a wrapper it fails with errNoWrapper.
func (r *run) build(ctx context.Context, compile func() (*build.Program, error)) error {
	wrap := r.m.startWrapper(ctx, r.tc, r.o.env)
	prog, err := compile()
	if err != nil {
		return err
	}
	r.prog = prog
	r.m.noteWarm()
	if r.wrapper = wrap.wait(); r.wrapper == nil {
		return errNoWrapper
	}
	return nil
}

// buildingText is the progress line while the program builds: it says
// when this is the first build, which compiles package mpi and its C part
// (up to tens of seconds with an empty Go build cache).
func (r *run) buildingText() string {
	if r.warmed {
		return "building…"
	}
	return "building (the first build also compiles package mpi and its C part, once)…"
}

// launch runs the program with args on the ranks here, stopped by ctx or
// --timeout; rewrite (may be nil) edits each output line, progress (may
// be nil) hears of every rank that starts or ends.
func (r *run) launch(ctx context.Context, args []string, rewrite func(string) string, progress func(started, ended int)) (*launch.Outcome, error) {
	if r.o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.o.Timeout)
		defer cancel()
	}
	return launch.Run(ctx, launch.Job{
		Req: r.req, Launcher: r.l, Wrapper: r.wrapper, Program: append([]string{r.prog.Bin}, args...),
		Emitter: r.em, Rewrite: rewrite, Progress: progress, Verbose: r.verbose, Log: r.m.log,
		Value: r.o.Out != "",
	})
}

// errNoModules is an import of a module's package by a Magic that has no
// module session (Config.Modules).
var errNoModules = errors.New("packages beyond the standard library, mpi and display need a module session, and this one has none")

// importError is an import that no module could provide; err is a
// *gomod.Error, or errNoModules.
type importError struct {
	imp program.Import
	err error
}

// Error names the import, where it was written (the file as program.Import
// names it), and why it could not be had.
func (e *importError) Error() string {
	return e.where() + "cannot import " + e.imp.Path + ": " + e.err.Error()
}

// Unwrap is the session's error.
func (e *importError) Unwrap() error { return e.err }

// where is "FILE:LINE: ", or "" for an import without a position.
func (e *importError) where() string {
	if e.imp.File == "" {
		return ""
	}
	return e.imp.File + ":" + strconv.Itoa(e.imp.Line) + ": "
}

// provide makes the packages of imports importable through the module
// session (downloading what their build needs) and returns the
// requirements to build with: zero when there are no imports, so that a
// program of the standard library and mpi alone builds as it always did,
// whatever the session requires. A failure is an *importError.
func (r *run) provide(ctx context.Context, imports []program.Import) (gomod.Snapshot, error) {
	if len(imports) == 0 {
		return gomod.Snapshot{}, nil
	}
	s := r.m.cfg.Modules
	if s == nil {
		return gomod.Snapshot{}, &importError{imp: imports[0], err: errNoModules}
	}
	paths := make([]string, len(imports))
	for i, imp := range imports {
		paths[i] = imp.Path
	}
	r.verbose("modules: providing " + strings.Join(paths, ", "))
	if _, err := s.Provide(ctx, paths); err != nil {
		if ctx.Err() != nil {
			return gomod.Snapshot{}, ctx.Err()
		}
		return gomod.Snapshot{}, &importError{imp: failedImport(imports, err), err: err}
	}
	return s.Snapshot()
}

// failedImport is the import a session's error is about: the one its
// target names (a package, or the module that holds it), else the first.
func failedImport(imports []program.Import, err error) program.Import {
	var ge *gomod.Error
	if errors.As(err, &ge) {
		for _, target := range strings.Split(ge.Target, ", ") {
			target, _, _ = strings.Cut(target, "@")
			for _, imp := range imports {
				if imp.Path == target || strings.HasPrefix(imp.Path, target+"/") {
					return imp
				}
			}
		}
	}
	return imports[0]
}

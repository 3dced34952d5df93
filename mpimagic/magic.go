package mpimagic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/program"
	"github.com/mpigo/mpigo/mpimagic/report"
)

// Config configures a Magic.
type Config struct {
	// Exe is the mpigo binary, which the launcher runs on every rank as
	// `mpigo rankio`; empty means os.Executable.
	Exe string
	// Decls returns the declarations of earlier cells; nil means none.
	Decls func() []goeval.Decl
	// Sources holds the module's go.mod and the mpi and display packages
	// (mpigo.Sources).
	Sources fs.FS
	// CacheDir holds sources and builds; empty means build.DefaultCacheDir.
	CacheDir string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Environ returns the environment a cell starts with; nil means
	// os.Environ (tests give one that does not depend on their shell).
	Environ func() []string
	// Modules resolves the imports of packages beyond the standard
	// library, mpi and display, and keeps the module requirements that
	// builds and exports use; nil refuses such imports. The kernel shares
	// one session with the rest of the notebook; Close leaves it open.
	Modules *gomod.Session
	// BuildRank builds the rank interpreter of %ranks (a Go interpreter
	// with package mpi compiled in, for the MPI of the toolchain) and
	// returns its command; nil: %ranks start refuses.
	BuildRank RankBuilder
	// SetOut puts the ranks' values of a %px or %mpirun --out NAME cell
	// into the notebook session as NAME, a slice indexed by rank.
	SetOut func(ctx context.Context, name string, vals []goeval.CarriedVar, jsons []json.RawMessage) error
}

// Magic runs %mpirun cells and `mpigo run` programs. It is safe for
// concurrent use; Close stops whatever it still runs.
type Magic struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	src       *build.Sources // once a cell needed them (sources)
	builds    *build.Cache   // once a cell needed it (cache)
	launchers map[string]*launch.Launcher
	tools     map[string]*build.Toolchain
	runs      map[*struct{}]context.CancelFunc
	own       program.Store // declarations of earlier %mpirun cells
	wg        sync.WaitGroup
	closed    bool
	warm      *warmup // the background build Warm started
	warmed    bool    // the build cache holds package mpi compiled
	ranks     ranksState
}

// New returns a Magic.
func New(cfg Config) *Magic {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Magic{
		cfg: cfg, log: log,
		launchers: map[string]*launch.Launcher{}, tools: map[string]*build.Toolchain{},
		runs: map[*struct{}]context.CancelFunc{},
	}
}

// Close stops every launch in progress (as an interrupt would) and the
// persistent ranks (%ranks), and waits for them to end; later calls fail.
// The kernel calls it when it shuts down or restarts, so that no rank
// outlives it.
func (m *Magic) Close() error {
	m.mu.Lock()
	m.closed = true // no Warm from now on
	for _, cancel := range m.runs {
		cancel()
	}
	m.mu.Unlock()
	m.stopWarm()
	if err := m.closeRanks(); err != nil {
		m.log.Warn("ranks: stopping them", "err", err)
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("mpirun: launches did not stop within 5 s")
	}
}

// track registers a run for Close; the returned function unregisters it.
func (m *Magic) track(ctx context.Context) (context.Context, func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, nil, errors.New("mpirun: the kernel is shutting down")
	}
	ctx, cancel := context.WithCancel(ctx)
	key := new(struct{})
	m.runs[key] = cancel
	m.wg.Add(1)
	return ctx, func() {
		m.mu.Lock()
		delete(m.runs, key)
		m.mu.Unlock()
		cancel()
		m.wg.Done()
	}, nil
}

// cache returns the build cache: the (private) cache directory, with the
// embedded sources loaded, set up by the first cell that needs it.
func (m *Magic) cache() (*build.Cache, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.builds != nil {
		return m.builds, nil
	}
	src, err := m.sourcesLocked()
	if err != nil {
		return nil, err
	}
	dir := m.cfg.CacheDir
	if dir == "" {
		if dir, err = build.DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	if m.builds, err = build.NewCache(dir, src); err != nil {
		return nil, err
	}
	return m.builds, nil
}

// setup finds the launcher and the toolchain for o, remembered as long as
// the variables they depend on stay the same.
func (m *Magic) setup(ctx context.Context, o Options) (*launch.Launcher, *build.Toolchain, error) {
	lkey := o.Launcher + o.env.Key(launch.LauncherEnvKeys...)
	m.mu.Lock()
	l := m.launchers[lkey]
	m.mu.Unlock()
	if l == nil {
		var err error
		if l, err = launch.FindLauncher(ctx, o.Launcher, o.env); err != nil {
			return nil, nil, err
		}
		m.mu.Lock()
		m.launchers[lkey] = l
		m.mu.Unlock()
	}
	tkey := build.ToolKey(l.MPI(), o.env)
	m.mu.Lock()
	tc := m.tools[tkey]
	m.mu.Unlock()
	if tc == nil {
		var err error
		if tc, err = build.DetectToolchain(ctx, l.MPI(), o.env); err != nil {
			return nil, nil, err
		}
		m.mu.Lock()
		m.tools[tkey] = tc
		m.mu.Unlock()
	}
	return l, tc, nil
}

// sources returns the embedded sources, loaded once.
func (m *Magic) sources() (*build.Sources, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sourcesLocked()
}

// sourcesLocked is sources with m.mu held.
func (m *Magic) sourcesLocked() (*build.Sources, error) {
	if m.src == nil {
		if m.cfg.Sources == nil {
			return nil, errors.New("mpirun: this mpigo was built without the mpi sources")
		}
		src, err := build.LoadSources(m.cfg.Sources)
		if err != nil {
			return nil, err
		}
		m.src = src
	}
	return m.src, nil
}

// compile builds files with tc into a binary called name, in the cache,
// with the module requirements mods.
func (m *Magic) compile(ctx context.Context, name string, files map[string][]byte, mods gomod.Snapshot, tc *build.Toolchain, env environ.Env, verbose func(string)) (*build.Program, error) {
	bc, err := m.cache()
	if err != nil {
		return nil, err
	}
	return bc.BuildModules(ctx, name, files, mods, tc, env, verbose)
}

// decls returns the declarations of earlier cells, plain and %mpirun, the
// latest definition of each name winning.
func (m *Magic) decls() []goeval.Decl {
	var plain []goeval.Decl
	if m.cfg.Decls != nil {
		plain = m.cfg.Decls()
	}
	m.mu.Lock()
	own := m.own.Snapshot()
	m.mu.Unlock()
	return program.MergeDecls(plain, own)
}

// remember keeps the declarations of %mpirun cell number cell, which
// compiled, for later %mpirun cells.
func (m *Magic) remember(cell int, body string, hasMain bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.own.Remember(cell, body, hasMain)
}

// Reset forgets the declarations of earlier %mpirun cells, as %reset makes
// the interpreter forget those of plain cells.
func (m *Magic) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.own.Reset()
}

// exe is the mpigo binary to run as the rank wrapper.
func (m *Magic) exe() (string, error) {
	if m.cfg.Exe != "" {
		return m.cfg.Exe, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating the mpigo binary: %w", err)
	}
	return p, nil
}

// Cell runs an %mpirun cell: args are the words after %mpirun, body the
// rest of the cell, cell its execution count (compile errors and
// tracebacks name it cell[N]). The progress, the ranks' output and the
// summary go to out; a failed run returns a *cellio.Error.
func (m *Magic) Cell(ctx context.Context, cell int, args []string, body string, out cellio.Output) (cellio.Result, error) {
	o, err := Parse(args, ModeMagic, m.environ())
	if err != nil {
		return cellio.Result{}, usageError(err)
	}
	if o.Help {
		out.Stream("stdout", MagicUsage)
		return cellio.Result{}, nil
	}
	if strings.TrimSpace(body) == "" {
		return cellio.Result{}, usageError(&UsageError{Reason: program.ErrEmpty.Error() + ": write the program on the lines below it", Usage: MagicUsage})
	}
	if o.Export != "" {
		return m.exportCell(ctx, cell, o, body, out)
	}
	if o.Sbatch {
		return m.sbatchCell(ctx, cell, o, body, out)
	}
	return m.runCell(ctx, cell, o, body, out, (*cellRun).runHere)
}

// runCell runs a cell's program: it starts the run, builds the program
// (prepare) and hands it to start (runHere, or runBatch for --sbatch).
func (m *Magic) runCell(ctx context.Context, cell int, o Options, body string, out cellio.Output, start func(*cellRun, context.Context) *cellio.Error) (cellio.Result, error) {
	r, ctx, end, err := m.startRun(ctx, o, out, "stdout", true)
	if err != nil {
		return cellio.Result{}, report.MagicError(err)
	}
	defer end()
	c := &cellRun{run: r, cell: cell, cellName: "cell[" + strconv.Itoa(cell) + "]"}
	if werr := c.prepare(ctx, body); werr != nil {
		return cellio.Result{}, werr
	}
	if werr := start(c, ctx); werr != nil {
		return cellio.Result{}, werr
	}
	return cellio.Result{}, nil
}

// cellRun is one %mpirun cell on its way.
type cellRun struct {
	*run
	cell     int         // the execution count
	cellName string      // cell[N]
	note     string      // how the build went, for the progress line
	out      program.Pos // the final expression --out sends back
}

// rewriteLine names the cell in Go tracebacks: "\tcell[mpirun]:12 +0x1d".
func (c *cellRun) rewriteLine(s string) string {
	if strings.HasPrefix(s, "\t"+program.CellFile+":") {
		return "\t" + c.cellName + s[len(program.CellFile)+1:]
	}
	return s
}

// rename names the cell as the user sees it in a message.
func (c *cellRun) rename(s string) string { return strings.ReplaceAll(s, program.CellFile, c.cellName) }

// prepare sets the run up, generates the program and builds it with the
// rank wrapper.
func (c *cellRun) prepare(ctx context.Context, body string) *cellio.Error {
	var ae *allocationError
	if err := c.setup(ctx, !c.o.Sbatch); errors.As(err, &ae) { // --sbatch: a new job, not this allocation
		c.pr.Set("not started: too many ranks", true)
		return usageError(&UsageError{Reason: err.Error()})
	} else if err != nil {
		c.pr.Set("failed: "+err.Error(), true)
		return report.MPIError(err)
	}
	src, err := c.m.sources()
	if err != nil {
		return report.MagicError(err)
	}
	generate := program.Generate
	if c.o.Out != "" {
		generate = program.GenerateOut
	}
	gen, err := generate(body, c.m.decls(), src.Exports())
	var oe *program.OutError
	switch {
	case errors.As(err, &oe):
		c.pr.Set("no value for --out", true)
		return outUsageError(fmt.Sprintf("%s:%d:%d", c.cellName, oe.At.Line, oe.At.Col), c.o.Out, oe.Why)
	case err != nil:
		c.pr.Set("does not compile", true)
		return compileError(err, c.rename)
	}
	c.out = gen.Out
	c.showInherited(gen.Inherited)
	mods, werr := c.provideCell(ctx, gen.Imports)
	if werr != nil {
		return werr
	}
	c.pr.Set(c.buildingText(), false)
	err = c.build(ctx, func() (*build.Program, error) {
		return c.m.compile(ctx, "cell", map[string][]byte{"main.go": []byte(gen.Source)}, mods, c.tc, c.o.env, c.verbose)
	})
	switch {
	case errors.Is(err, errNoWrapper):
		return report.MagicError(errors.New("mpirun: " + err.Error()))
	case err != nil && ctx.Err() != nil:
		c.pr.Set("interrupted while building", true)
		return report.Stopped(launch.StopInterrupt, "the cell was interrupted while its program was being built")
	case err != nil:
		c.pr.Set("does not compile", true)
		return compileError(err, c.rename)
	}
	c.m.remember(c.cell, body, gen.HasMain)
	c.verbose("program: " + c.prog.Bin + " (source: " + filepath.Join(filepath.Dir(c.prog.Bin), "main.go") + ")")
	c.note = "build cached"
	if !c.prog.Cached {
		c.note = "built in " + report.Seconds(c.prog.Took)
	}
	return nil
}

// provideCell is provide for a cell: an import that no module provides
// is an ImportError naming the cell line of the import.
func (c *cellRun) provideCell(ctx context.Context, imports []program.Import) (gomod.Snapshot, *cellio.Error) {
	if len(imports) > 0 {
		c.pr.Set("resolving imports…", false)
	}
	mods, err := c.provide(ctx, imports)
	var ie *importError
	switch {
	case err == nil:
		return mods, nil
	case ctx.Err() != nil:
		c.pr.Set("interrupted while resolving imports", true)
		return mods, report.Stopped(launch.StopInterrupt, "the cell was interrupted while its imports were being resolved")
	case errors.As(err, &ie):
		c.pr.Set("cannot import "+ie.imp.Path, true)
		return mods, moduleError(ie, c.rename)
	}
	c.pr.Set("failed: "+err.Error(), true)
	return mods, report.MagicError(err)
}

// moduleError is the cell error of an import no module provides: its
// first line names the import and its cell line, the rest is the module
// session's account of what was tried and how to make it available.
func moduleError(ie *importError, rename func(string) string) *cellio.Error {
	value := rename(ie.where()) + "cannot import " + ie.imp.Path
	tb := []string{string(cellio.ImportError) + ": " + value}
	tb = append(tb, strings.Split(ie.err.Error(), "\n")...)
	return report.ImportError(value, tb)
}

// showInherited names, for --verbose, the declarations of earlier cells
// the program holds.
func (c *cellRun) showInherited(inherited []goeval.Decl) {
	if !c.o.Verbose || len(inherited) == 0 {
		return
	}
	var names []string
	for _, d := range inherited {
		names = append(names, fmt.Sprintf("%s %s (cell[%d])", d.Kind, d.Name, d.Cell))
	}
	c.verbose("from earlier cells: " + strings.Join(names, ", "))
}

// runHere launches the program here, then shows the summary and judges
// the run.
func (c *cellRun) runHere(ctx context.Context) *cellio.Error {
	o, l := c.o, c.l
	what := report.Plural(o.N, "rank") + " with " + l.Name()
	if l.Flavour != "" && l.Flavour != build.UnknownMPI {
		what += " (" + l.Flavour + ")"
	}
	placement := l.PlacementNote(c.req, o.env.Get) // e.g. 1 CPU per rank in a one-task allocation
	if placement != "" {
		placement = "; " + placement
	}
	if note := l.MPINote(c.req); note != "" {
		c.verbose(note)
	}
	c.pr.Set("launching "+what+placement+"…", false)
	oc, err := c.launch(ctx, nil, c.rewriteLine, func(started, ended int) {
		c.pr.Set(fmt.Sprintf("running %s: %d of %d started, %d finished", what, started, o.N, ended), false)
	})
	if err != nil {
		c.pr.Set("failed: "+err.Error(), true)
		return report.MPIError(err)
	}
	c.m.log.Debug("mpirun: ran", "cell", c.cellName, "launch", oc.Took, "launcher_exit", oc.LauncherExit, "build", c.note)
	werr := report.Judge(oc, c.req, l)
	if werr == nil {
		c.pr.Set(fmt.Sprintf("done: %s, %s, ran %s%s", what, c.note, report.Seconds(oc.Took), placement), true)
	} else {
		c.pr.Set(fmt.Sprintf("%s (%s)", werr.Value, c.note), true)
	}
	s := &report.Summary{Title: report.Title(oc, c.req, l), Groups: report.Fold(oc.Results), Launcher: strings.TrimRight(oc.LauncherText, "\n"), PlainLauncher: werr == nil}
	c.em.Display(cellio.Display{Data: s.Data()})
	if werr == nil && o.Out != "" {
		werr = c.setOut(ctx, oc.Results)
	}
	return werr
}

// usageError is the cell error of a bad %mpirun line.
func usageError(err error) *cellio.Error {
	var ue *UsageError
	if !errors.As(err, &ue) {
		return report.UsageError(err.Error(), "")
	}
	return report.UsageError(ue.Reason, ue.Usage)
}

// compileError is the cell error of a program that does not build.
func compileError(err error, rename func(string) string) *cellio.Error {
	var ce *program.CompileError
	if errors.Is(err, program.ErrEmpty) {
		return usageError(&UsageError{Reason: err.Error(), Usage: MagicUsage})
	}
	if !errors.As(err, &ce) {
		return report.BuildError(rename(err.Error()))
	}
	lines := make([]string, 0, len(ce.Lines)+1)
	undefined := false
	for _, l := range ce.Lines {
		l = rename(l)
		if strings.Contains(l, ": undefined: ") {
			undefined = true
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		lines = []string{"compile error"}
	}
	tb := append([]string{"CompileError: " + lines[0]}, lines[1:]...)
	if undefined {
		tb = append(tb, "", "(%mpirun programs see the declarations of earlier cells (import, func, type, const, var) but not variables made with :=; declare those in this cell)")
	}
	return report.CompileError(lines[0], tb)
}

// environ returns the environment of a cell starting now: Config.Environ's,
// or the process's.
func (m *Magic) environ() environ.Env {
	if m.cfg.Environ != nil {
		return environ.New(m.cfg.Environ()...)
	}
	return environ.New(os.Environ()...)
}

// pendingWrapper is the rank wrapper being made ready, in parallel with the
// program's build.
type pendingWrapper struct {
	wg   sync.WaitGroup
	argv []string
}

// startWrapper gets the rank wrapper ready: the small binary built from
// package rankio (built once, then cached like any program), or `mpigo
// rankio` should that build fail.
func (m *Magic) startWrapper(ctx context.Context, tc *build.Toolchain, env environ.Env) *pendingWrapper {
	p := &pendingWrapper{}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		bc, err := m.cache()
		if err == nil {
			var b *build.Program
			if b, err = bc.Wrapper(ctx, tc, env); err == nil {
				p.argv = []string{b.Bin}
				return
			}
		}
		exe, xerr := m.exe()
		if xerr != nil || ctx.Err() != nil {
			return
		}
		m.log.Warn("mpirun: building the rank wrapper failed; using mpigo rankio", "err", err)
		p.argv = []string{exe, "rankio"}
	}()
	return p
}

// wait returns the wrapper's argv, or nil if there is none.
func (p *pendingWrapper) wait() []string {
	p.wg.Wait()
	return p.argv
}

// warmDelay is how long Warm waits before it starts: the kernel starts its
// interpreter process meanwhile, and a front end's first requests come.
const warmDelay = 2 * time.Second

// warmup is the background build that Warm started.
type warmup struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Warm starts filling the build cache in the background, at the lowest CPU
// priority: the rank wrapper, and package mpi compiled with cgo, which is
// most of a first build; a user's first %mpirun cell then only compiles
// its own program (bench/mpirun/first_cell.py measures it with a new
// user's empty caches). A cell that starts meanwhile stops it and builds
// at normal priority, keeping what it compiled. Warm does nothing after
// Close, or when it was called before.
func (m *Magic) Warm() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.warm != nil || m.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &warmup{cancel: cancel, done: make(chan struct{})}
	m.warm = w
	go func() {
		defer close(w.done)
		select { // the kernel's own start (the interpreter process) first
		case <-time.After(warmDelay):
		case <-ctx.Done():
			return
		}
		start := time.Now()
		if err := m.warmUp(ctx); err != nil {
			m.log.Debug("mpirun: warming the build cache", "err", err, "after", time.Since(start))
			return
		}
		m.log.Debug("mpirun: build cache warm", "took", time.Since(start))
	}()
}

// warmUp builds what Warm builds, for the launcher a cell without flags
// would get.
func (m *Magic) warmUp(ctx context.Context) error {
	o := Options{Launcher: "auto", env: m.environ()}
	_, tc, err := m.setup(ctx, o)
	if err != nil {
		return err
	}
	bc, err := m.cache()
	if err != nil {
		return err
	}
	if err := bc.Warm(ctx, tc, o.env); err != nil {
		return err
	}
	m.noteWarm()
	return nil
}

// noteWarm records that the build cache holds package mpi compiled.
func (m *Magic) noteWarm() {
	m.mu.Lock()
	m.warmed = true
	m.mu.Unlock()
}

// stopWarm stops the background build if it still runs, waits for it,
// and reports whether the build cache is warm: Warm finished, or a cell
// built since.
func (m *Magic) stopWarm() (warmed bool) {
	m.mu.Lock()
	w := m.warm
	m.mu.Unlock()
	if w != nil {
		w.cancel()
		<-w.done
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.warmed
}

// Command mpigo is a Jupyter kernel for Go with MPI support.
//
// Usage:
//
//	mpigo kernel CONNECTION_FILE   run the kernel (what Jupyter starts)
//	mpigo install [flags]          install the kernel spec for Jupyter
//	mpigo run -n N FILE.go|DIR     build and run a Go MPI program on N ranks
//	mpigo version                  print the version
//	mpigo help                     print this help
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/interpbuild"
	"github.com/mpigo/mpigo/kernel"
	"github.com/mpigo/mpigo/mpimagic"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/worker"
)

// version is mpigo's version, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

// yaegiFallback is the yaegi version go.mod requires, for builds without
// module information.
const yaegiFallback = "v0.16.1"

// The worker's engine is what the kernel drives.
var (
	_ kernel.Engine   = (*worker.Engine)(nil)
	_ kernel.Debugger = (*worker.Engine)(nil)
)

const usage = `mpigo: a Jupyter kernel for Go, with MPI.

Usage:
  mpigo kernel CONNECTION_FILE   run the kernel (Jupyter starts it from the kernel spec)
  mpigo install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--display-name NAME]
                                 install the kernel spec so that Jupyter lists "Go (mpigo)"
  mpigo run -n N [flags] FILE.go|DIR [ARGS...]
                                 build a Go MPI program and run it on N ranks, each output
                                 line prefixed with [rank N] (mpigo run --help for the flags)
  mpigo version                  print the version
  mpigo help                     print this help

Environment:
  MPIGO_LOG=debug|info|warn|error   kernel log level on stderr (default warn)
  JPY_PARENT_PID                    set by Jupyter: the kernel exits when the process
                                    that started it does
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "kernel":
		if len(args) != 2 {
			fmt.Fprint(stderr, "usage: mpigo kernel CONNECTION_FILE\n")
			return 2
		}
		if err := runKernel(args[1], kernelEnv{
			logLevel:  os.Getenv("MPIGO_LOG"),
			warm:      os.Getenv("MPIGO_WARM") != "0",
			parentPID: kernel.WatchedParent(os.Getenv("JPY_PARENT_PID"), os.Getppid()),
		}); err != nil {
			fmt.Fprintf(stderr, "mpigo kernel: %v\n", err)
			return 1
		}
		return 0
	case "worker": // hidden: the interpreter process the kernel starts
		if err := worker.Serve(); err != nil {
			fmt.Fprintf(stderr, "mpigo worker: %v\n", err)
			return 1
		}
		return 0
	case "install":
		return cmdInstall(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "rankio": // hidden: what %mpirun's launcher runs on every rank
		return rankio.Main(args[1:], stdout, stderr)
	case "extract": // hidden: symbol tables for an interpreter build
		return interpbuild.ExtractMain(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "mpigo: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// versionString is what `mpigo version` prints.
func versionString() string {
	yaegi := yaegiFallback
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/traefik/yaegi" {
				yaegi = dep.Version
				if dep.Replace != nil && dep.Replace.Version != "" {
					yaegi = dep.Replace.Version
				}
			}
		}
	}
	return fmt.Sprintf("mpigo %s (%s, yaegi %s)", version, runtime.Version(), yaegi)
}

// kernelEnv is what the kernel takes from its environment, read once when
// it starts.
type kernelEnv struct {
	logLevel  string // $MPIGO_LOG
	parentPID int    // the process to watch (kernel.WatchedParent), 0 for none
	// warm fills the build cache for %mpirun in the background once the
	// kernel is up ($MPIGO_WARM=0 turns it off, for measurements).
	warm bool
}

// runKernel serves Jupyter until shutdown, or until the front end that
// started the kernel exits. The interpreter process is started once the
// kernel's sockets are bound (kernel.Config.StartEngine), so that a front
// end that connects at once never finds them closed.
func runKernel(connectionFile string, env kernelEnv) error {
	logger := kernel.NewLogger(os.Stderr, env.logLevel)
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating the mpigo binary: %w", err)
	}
	ctx := context.Background()
	// The session's Go modules: what plain cells, %mpirun cells and
	// exports import beyond the standard library.
	mods, err := gomod.Open(gomod.Env{Environ: os.Environ})
	if err != nil {
		return fmt.Errorf("preparing the session's Go modules: %w", err)
	}
	defer mods.Close()
	cacheDir, err := build.DefaultCacheDir()
	if err != nil {
		return err
	}
	interps := interpbuild.New(interpbuild.Config{Sources: mpigo.Sources, Exe: exe, CacheDir: cacheDir, Logger: logger})
	var engine *worker.Engine // set by StartEngine, before any cell runs
	magic := mpimagic.New(mpimagic.Config{Exe: exe, Decls: func() []goeval.Decl { return engine.Decls() }, Sources: mpigo.Sources, Logger: logger, Modules: mods,
		BuildRank: rankBuilder(interps, mods, func() *worker.Engine { return engine }), SetOut: setOut(func() *worker.Engine { return engine })})
	// Whatever a cell left running is stopped before the kernel exits.
	defer magic.Close()
	return kernel.Run(ctx, kernel.Config{
		ConnectionFile: connectionFile,
		StartEngine: func() (kernel.Engine, error) {
			engine, err = worker.Start(ctx, worker.Config{Command: []string{exe, "worker"}, Logger: logger, Packages: packager{b: interps, mods: mods}})
			if err != nil {
				return nil, fmt.Errorf("starting the Go interpreter: %w", err)
			}
			if env.warm {
				magic.Warm() // at the lowest priority, after the sockets are bound
			}
			return resetEngine{Engine: engine, reset: magic.Reset}, nil
		},
		LineMagics: map[string]kernel.LineMagic{"go": goMagic(mods, func() *worker.Engine { return engine }), "ranks": ranksMagic(magic)},
		ResetAll: func(context.Context) error {
			if err := mods.Reset(); err != nil {
				return err
			}
			engine.DropPackages()
			return nil
		},
		IsComplete: goeval.IsComplete,
		// the worker runs cells under yaegi's debugger once JupyterLab attached
		DebuggerReady: true,
		CellMagics:    map[string]kernel.CellMagic{"mpirun": mpirunMagic(magic), "px": pxMagic(magic)},
		CellMagicDocs: map[string]kernel.MagicDoc{"mpirun": {
			Usage:   "%mpirun -n N [...]",
			Desc:    "build the cell as an MPI program and run it on N ranks (%%mpirun too; %mpirun --help for every flag)",
			Example: "%mpirun -n 4",
		}, "px": {
			Usage:   "%px [--ranks 0,2-3] [--out NAME]",
			Desc:    "run the cell on the ranks of %ranks start, each keeping its state (%%px too; %px --help)",
			Example: "%px",
		}},
		Logger:        logger,
		Version:       version,
		HandleSignals: true,
		ParentPID:     env.parentPID,
	})
}

// resetEngine makes %reset forget the declarations of %mpirun cells too,
// which the magic keeps for later %mpirun cells. It embeds the
// *worker.Engine itself, not a kernel.Engine, so that the kernel still sees
// the engine's other interfaces (kernel.Debugger).
type resetEngine struct {
	*worker.Engine
	reset func()
}

// Reset resets the engine, then the magic.
func (e resetEngine) Reset(ctx context.Context) error {
	if err := e.Engine.Reset(ctx); err != nil {
		return err
	}
	e.reset()
	return nil
}

// mpirunMagic adapts the %mpirun magic to the kernel.
func mpirunMagic(m *mpimagic.Magic) kernel.CellMagic {
	return func(ctx context.Context, args []string, body string, out cellio.Output) (cellio.Result, error) {
		count, _ := kernel.ExecutionCount(ctx)
		return m.Cell(ctx, count, args, body, out)
	}
}

// cmdRun is `mpigo run`: Ctrl-C (SIGINT) or SIGTERM stops every rank.
func cmdRun(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "mpigo run: locating the mpigo binary: %v\n", err)
		return 1
	}
	// The run's own module session: third-party imports of a FILE.go or
	// DIR resolve with the user's Go environment, for this run only.
	modules, err := gomod.Open(gomod.Env{Environ: os.Environ})
	if err != nil {
		fmt.Fprintf(stderr, "mpigo run: %v\n", err)
		return 1
	}
	defer modules.Close()
	m := mpimagic.New(mpimagic.Config{Exe: exe, Sources: mpigo.Sources, Logger: kernel.NewLogger(stderr, os.Getenv("MPIGO_LOG")), Modules: modules})
	defer m.Close()
	return m.RunCommand(ctx, args, stdout, stderr)
}

// Package interpbuild builds Go interpreters with packages compiled in: the
// worker of plain cells (package worker, over goeval and yaegi) linked with
// yaegi symbol tables of the packages a session imports, so that a cell
// calls gonum's compiled code instead of interpreting its source.
//
// An interpreter is a small generated main package in a module of its own:
// it requires the session's modules (gomod) and mpigo, whose sources are
// embedded in the mpigo binary and written next to it. yaegi's extract
// package writes the symbol tables; the go command builds the binary. Each
// build is kept in the user's cache under a hash of everything it depends
// on (the packages, the session's go.mod and go.sum, the files of local
// modules, the Go version and flags, mpigo's sources), so a package set is
// built once, and a kernel restart finds it built.
package interpbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/gomod"
)

// ModulePath is mpigo's module, whose sources Config.Sources holds.
const ModulePath = "github.com/mpigo/mpigo"

// binName is the interpreter binary's name in its build directory.
const binName = "mpigo-interp"

// Config says how to build interpreters.
type Config struct {
	// Sources holds mpigo's go.mod, go.sum and the packages the worker is
	// made of (mpigo.Sources).
	Sources fs.FS
	// Exe is the mpigo binary, which runs `mpigo extract`.
	Exe string
	// CacheDir is where interpreters are kept (e.g. ~/.cache/mpigo).
	CacheDir string
	// Go is the go command; "" means "go" on PATH.
	Go string
	// Environ returns the environment of the go command; nil: os.Environ.
	Environ func() []string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Builder builds interpreters. Its methods may be called from several
// goroutines.
type Builder struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex // one build at a time
	goVersion string     // `go env GOVERSION`, once known
	srcHash   string     // of mpigo's sources, once known
}

// New returns a Builder.
func New(cfg Config) *Builder {
	if cfg.Go == "" {
		cfg.Go = "go"
	}
	if cfg.Environ == nil {
		cfg.Environ = os.Environ
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Builder{cfg: cfg, log: log}
}

// Interpreter is a built interpreter.
type Interpreter struct {
	// Command starts it: the binary, to be run as the worker.
	Command []string
	// Packages are the packages compiled in, sorted by path.
	Packages []gomod.Package
	// Key identifies what it was built from (see Builder.Key).
	Key string
	// Cached is true when it had been built before; Took is how long the
	// build took otherwise.
	Cached bool
	Took   time.Duration
}

// Stage is a step of a build, reported to the progress callback.
type Stage int

// The stages of a build, in order.
const (
	Resolving  Stage = iota // finding the modules of the packages (may download)
	Extracting              // writing their symbol tables
	Compiling               // go build
)

// Progress is told what a build is doing: the stage and the packages.
type Progress func(stage Stage, pkgs []gomod.Package)

// Build returns an interpreter with the packages paths compiled in, built
// now or before. progress (may be nil) hears of each stage.
func (b *Builder) Build(ctx context.Context, mods *gomod.Session, paths []string, progress Progress) (*Interpreter, error) {
	return b.buildFor(ctx, mods, paths, nil, progress)
}

// RankToolchain is what a rank interpreter needs to link with the MPI its
// launcher runs (mpimagic/build.Toolchain.ForInterpreter gives it).
type RankToolchain struct {
	// Tags are the build tags of package mpi ("ompi", "mpich", "mpicc" or
	// "" for the generic pkg-config module).
	Tags string
	// Env is added to the go command's environment (CC=mpicc, ...).
	Env []string
	// Fingerprint identifies the MPI and the C toolchain, for the cache key.
	Fingerprint string
}

// BuildRank returns a rank interpreter for %ranks: the packages paths and
// package mpi (linked with tc's MPI) compiled in, serving pxrank.Serve. Its
// Command is what the launcher starts on every rank (with $MPIGO_PX set);
// without $MPIGO_PX it lists its packages, as Build's does.
func (b *Builder) BuildRank(ctx context.Context, mods *gomod.Session, paths []string, tc RankToolchain, progress Progress) (*Interpreter, error) {
	return b.buildFor(ctx, mods, paths, &tc, progress)
}

// buildFor is Build (tc nil) or BuildRank.
func (b *Builder) buildFor(ctx context.Context, mods *gomod.Session, paths []string, tc *RankToolchain, progress Progress) (*Interpreter, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if progress == nil {
		progress = func(Stage, []gomod.Package) {}
	}
	paths = sortedSet(paths)
	progress(Resolving, nil)
	pkgs, err := mods.Provide(ctx, paths)
	if err != nil {
		return nil, err
	}
	sn, err := mods.Snapshot()
	if err != nil {
		return nil, err
	}
	key, err := b.key(ctx, paths, sn, tc)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.cfg.CacheDir, "interp", key)
	bin := filepath.Join(dir, binName)
	it := &Interpreter{Command: []string{bin, "worker"}, Packages: pkgs, Key: key}
	if tc != nil {
		it.Command = []string{bin}
	}
	if _, err := os.Stat(bin); err == nil {
		now := time.Now()
		_ = os.Chtimes(dir, now, now)
		it.Cached = true
		return it, nil
	}
	start := time.Now()
	if err := b.build(ctx, dir, pkgs, sn, tc, progress); err != nil {
		return nil, err
	}
	it.Took = time.Since(start)
	return it, nil
}

// Key identifies the interpreter Build would return for paths now, without
// building or downloading anything: when it changes (a %go get of another
// version, an edit of a local module), the running interpreter is stale.
func (b *Builder) Key(ctx context.Context, mods *gomod.Session, paths []string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sn, err := mods.Snapshot()
	if err != nil {
		return "", err
	}
	return b.key(ctx, sortedSet(paths), sn, nil)
}

// key hashes what an interpreter depends on.
func (b *Builder) key(ctx context.Context, paths []string, sn gomod.Snapshot, tc *RankToolchain) (string, error) {
	gv, err := b.version(ctx)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "mpigo interpreter v1\n%s\n%s\n", gv, sn.Key)
	for _, p := range paths {
		fmt.Fprintf(h, "package %s\n", p)
	}
	if tc != nil {
		fmt.Fprintf(h, "rank interpreter\ntags %s\nmpi %s\n", tc.Tags, tc.Fingerprint)
		for _, kv := range tc.Env {
			fmt.Fprintf(h, "env %s\n", kv)
		}
	}
	for _, kv := range b.cfg.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if buildEnv[k] {
			fmt.Fprintf(h, "%s\n", kv)
		}
	}
	if b.srcHash == "" {
		sh := sha256.New()
		if err := hashSources(sh, b.cfg.Sources); err != nil {
			return "", err
		}
		b.srcHash = hex.EncodeToString(sh.Sum(nil))
	}
	fmt.Fprintf(h, "sources %s\n", b.srcHash)
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// buildEnv are the variables that change what go build makes.
var buildEnv = map[string]bool{
	"GOFLAGS": true, "CGO_ENABLED": true, "CC": true, "CGO_CFLAGS": true, "CGO_LDFLAGS": true,
	"GOAMD64": true, "GOARM64": true, "GOEXPERIMENT": true, "GOTOOLCHAIN": true,
}

// version is the go command's Go version, asked once.
func (b *Builder) version(ctx context.Context) (string, error) {
	if b.goVersion != "" {
		return b.goVersion, nil
	}
	out, err := b.goCmd(ctx, "", "env", "GOVERSION")
	if err != nil {
		return "", fmt.Errorf("running the go command: %v\n%s", err, out)
	}
	b.goVersion = strings.TrimSpace(out)
	return b.goVersion, nil
}

// sortedSet sorts paths and drops duplicates.
func sortedSet(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// run runs argv in dir with the go command's environment plus env.
func (b *Builder) run(ctx context.Context, dir string, env []string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(append(b.cfg.Environ(), "GOWORK=off"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), ctx.Err()
	}
	return out.String(), err
}

// goCmd runs the go command in dir.
func (b *Builder) goCmd(ctx context.Context, dir string, args ...string) (string, error) {
	return b.run(ctx, dir, nil, append([]string{b.cfg.Go}, args...)...)
}

// extract runs `mpigo extract` in the build module.
func (b *Builder) extract(ctx context.Context, dir string, pkgs []gomod.Package, env []string) ([]extracted, error) {
	if len(pkgs) == 0 {
		return nil, nil // a rank interpreter with package mpi alone
	}
	argv := []string{b.cfg.Exe, "extract", dir}
	for _, p := range pkgs {
		argv = append(argv, p.Path)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(append(b.cfg.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod"), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, extractError(pkgs, strings.TrimSpace(stderr.String()))
	}
	var res []extracted
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, extractError(pkgs, "bad report: "+err.Error())
	}
	return res, nil
}

// String says what the stage does, for a progress line.
func (s Stage) String() string {
	switch s {
	case Resolving:
		return "resolving modules (go list, go get)"
	case Extracting:
		return "writing symbol tables (yaegi extract)"
	case Compiling:
		return "compiling an interpreter (go build; the first one takes a while)"
	}
	return fmt.Sprintf("stage %d", int(s))
}

// About names the packages compiled in with their versions, and how the
// interpreter came to be: "gonum.org/v1/gonum/mat v0.17.0 (built in 4.1 s)".
func (it *Interpreter) About() string {
	var names []string
	for _, p := range it.Packages {
		switch {
		case p.Local:
			names = append(names, p.Path+" (local)")
		case p.Version != "":
			names = append(names, p.Path+" "+p.Version)
		default:
			names = append(names, p.Path)
		}
	}
	how := "cached"
	if !it.Cached {
		how = fmt.Sprintf("built in %.1f s", it.Took.Seconds())
	}
	return strings.Join(names, ", ") + " (" + how + ")"
}

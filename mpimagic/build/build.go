package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	gover "go/version"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/program"
	"github.com/mpigo/mpigo/mpimagic/shell"
)

// DefaultCacheDir is where builds go: mpigo in the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache).
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the cache directory: %w", err)
	}
	return filepath.Join(dir, "mpigo"), nil
}

// EnsurePrivateDir creates dir (and parents) and makes it readable by its
// owner only: programs and sources of one user are not the others' business.
func EnsurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the cache directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("creating the cache directory: %w", err)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("making the cache directory private: %w", err)
		}
	}
	return nil
}

// builder builds programs in a cache directory, each in a directory named
// after a hash of everything the build depends on, so an unchanged program
// is never built twice. Go's own build cache (GOCACHE) is shared, so a
// changed program recompiles only its main package.
type builder struct {
	// env is the environment the go command runs with.
	env environ.Env
	// background runs go build at the lowest CPU priority (Cache.Warm).
	background bool
	cacheDir   string
	src        *Sources
	// mods are the module requirements of the program's imports beyond
	// the standard library and mpigo (zero: none).
	mods gomod.Snapshot
}

// Program is a program ready to run.
type Program struct {
	Bin    string        // the binary
	Cached bool          // it was built before
	Took   time.Duration // building it (0 when cached)
}

// buildCmd describes the go build a program needs, for --verbose.
type buildCmd struct {
	dir  string
	env  []string // the variables set on top of the environment
	argv []string
}

// String shows the command as one would type it in a shell.
func (c buildCmd) String() string {
	return "cd " + shell.Quote(c.dir) + " && " + shell.Join(c.env) + " " + shell.Join(c.argv)
}

// build makes sure the main package made of files (file name → content) is
// built with tc into a binary called name, and returns it. External linking is used when
// external is set, or when internal linking (faster, tried first) fails;
// usedExternal says which one the build used.
func (b *builder) build(ctx context.Context, name string, files map[string][]byte, tc *Toolchain, external bool, verbose func(string)) (res *Program, usedExternal bool, err error) {
	srcDir, err := b.src.WriteTo(b.cacheDir)
	if err != nil {
		return nil, external, err
	}
	mod, err := b.goMod(srcDir)
	if err != nil {
		return nil, external, err
	}
	for {
		key := buildKey(name, files, mod, b.mods, tc, external)
		res, err := b.buildKey(ctx, key, name, files, mod, tc, external, verbose)
		var le *linkError
		if errors.As(err, &le) && !external {
			external = true // internal linking cannot handle this MPI: link the usual way
			continue
		}
		return res, external, err
	}
}

// BuildModulePath is the module path of the programs the cache builds.
const BuildModulePath = "mpigo.local/program"

// goMod is the go.mod of a build: module BuildModulePath with mpigo's
// module from the embedded sources in srcDir and, when the program
// imports packages of other modules, the session's requirements.
func (b *builder) goMod(srcDir string) (string, error) {
	if len(b.mods.GoMod) == 0 {
		return fmt.Sprintf("module %s\n\ngo %s\n\nrequire %s v0.0.0\n\nreplace %s => %s\n",
			BuildModulePath, b.src.goVersion, ModulePath, ModulePath, srcDir), nil
	}
	mod, err := b.mods.BuildModule(BuildModulePath, func(f *modfile.File) error {
		return RequireMPIGo(f, srcDir, b.src.goVersion)
	})
	return string(mod), err
}

// RequireMPIGo edits a build module's go.mod f to take mpigo's module from
// dir (the embedded sources, written out), and raises its go line to
// goVersion, mpigo's, if it is older.
func RequireMPIGo(f *modfile.File, dir, goVersion string) error {
	if f.Go == nil || gover.Compare("go"+f.Go.Version, "go"+goVersion) < 0 {
		if err := f.AddGoStmt(goVersion); err != nil {
			return err
		}
	}
	if err := f.AddRequire(ModulePath, "v0.0.0"); err != nil {
		return err
	}
	return f.AddReplace(ModulePath, "", dir, "")
}

// buildKey hashes what a build depends on: the program, its go.mod, the
// module requirements (mods.Key covers go.sum and the files of local
// modules), the toolchain and the linking.
func buildKey(name string, files map[string][]byte, mod string, mods gomod.Snapshot, tc *Toolchain, external bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "mpigo build v2\n%s\n%s\nmodules=%s\n%s\nexternal=%v\n", name, mod, mods.Key, tc.fingerprint, external)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s %d\n", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// linkError is a build that compiled but did not link.
type linkError struct{ out string }

// Error says that linking failed, with the linker's output.
func (e *linkError) Error() string { return "link failed: " + e.out }

func (b *builder) buildKey(ctx context.Context, key, name string, files map[string][]byte, mod string, tc *Toolchain, external bool, verbose func(string)) (*Program, error) {
	buildDir := filepath.Join(b.cacheDir, "build")
	dir := filepath.Join(buildDir, key)
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		now := time.Now()
		_ = os.Chtimes(dir, now, now) // recently used: kept by prune
		return &Program{Bin: bin, Cached: true}, nil
	}
	if err := os.MkdirAll(buildDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the build directory: %w", err)
	}
	tmp, err := os.MkdirTemp(buildDir, key+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("creating the build directory: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), content, 0o600); err != nil {
			return nil, fmt.Errorf("writing the program: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(mod), 0o600); err != nil {
		return nil, fmt.Errorf("writing the program: %w", err)
	}
	if len(b.mods.GoSum) > 0 {
		if err := os.WriteFile(filepath.Join(tmp, "go.sum"), b.mods.GoSum, 0o600); err != nil {
			return nil, fmt.Errorf("writing the program: %w", err)
		}
	}
	bc := goBuildCmd(tmp, name, tc, external)
	if verbose != nil {
		verbose(bc.String())
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, tc.goBin, bc.argv[1:]...)
	cmd.Dir = tmp
	cmd.Env = environ.Merge(b.env.Child(), bc.env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := b.run(cmd); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, buildError(out.String(), err)
	}
	took := time.Since(start)
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(bin); serr != nil {
			return nil, fmt.Errorf("storing the build: %w", err)
		}
		// another kernel built the same program at the same time: use its
	}
	b.prune(buildDir, key)
	return &Program{Bin: bin, Took: took}, nil
}

// run runs go build. A background build runs at the lowest CPU priority
// (nice 19), set on its process group as soon as it has started, so that
// the compilers it starts inherit it and the kernel's own work goes first.
func (b *builder) run(cmd *exec.Cmd) error {
	if !b.background {
		return cmd.Run()
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	_ = syscall.Setpriority(syscall.PRIO_PGRP, cmd.Process.Pid, 19)
	return cmd.Wait()
}

// goBuildCmd is the go build of the program in dir into dir/name.
func goBuildCmd(dir, name string, tc *Toolchain, external bool) buildCmd {
	ldflags := "-s -w"
	if !external {
		ldflags += " -linkmode=internal"
	}
	argv := []string{tc.goBin, "build", "-ldflags=" + ldflags}
	if tc.tags != "" {
		argv = append(argv, "-tags="+tc.tags)
	}
	argv = append(argv, "-o", name, ".")
	env := []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local", "GOSUMDB=off", "CGO_ENABLED=1"}
	if tc.cc != "" {
		env = append(env, "CC="+tc.cc)
	}
	return buildCmd{dir: dir, env: env, argv: argv}
}

// goPosition matches a compiler message's position.
var goPosition = regexp.MustCompile(`^(\S+?\.go|cell\[[^\]]*\]):\d+(:\d+)?: `)

// buildError turns go build's output into a program.CompileError (the program's
// own errors), a linkError, or a plain error (MPI not found, ...).
func buildError(out string, err error) error {
	var lines, pkgs []string
	positions := false
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if p, ok := strings.CutPrefix(l, "# "); ok {
			pkgs = append(pkgs, p)
			continue
		}
		if goPosition.MatchString(l) {
			positions = true
		}
		lines = append(lines, l)
	}
	text := strings.Join(lines, "\n")
	mpiFailed := false
	for _, p := range pkgs {
		if strings.HasPrefix(p, ModulePath+"/mpi") || strings.HasPrefix(p, ModulePath+"/display") {
			mpiFailed = true
		}
	}
	switch {
	case mpiFailed:
		return fmt.Errorf("building package mpi failed; are the MPI development files installed (mpi.h; pkg-config ompi-c or mpich, or mpicc)?\n%s", text)
	case positions:
		return &program.CompileError{Lines: lines}
	case strings.Contains(text, "link"):
		return &linkError{out: text}
	}
	return fmt.Errorf("go build: %v\n%s", err, text)
}

// prune removes builds not used for a day once there are many, and
// temporary directories of builds that died; never keep the current one.
func (b *builder) prune(buildDir, keep string) {
	entries, err := os.ReadDir(buildDir)
	if err != nil || len(entries) < 200 {
		return
	}
	cutoff := time.Now().Add(-24 * time.Hour)
	for _, e := range entries {
		if e.Name() == keep {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			_ = os.RemoveAll(filepath.Join(buildDir, e.Name()))
		}
	}
}

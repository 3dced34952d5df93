package interpbuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/mpigo/mpigo/gomod"
)

// workerRoots are the directories of mpigo's packages the worker is made
// of (go list -deps ./worker), written out for each build.
var workerRoots = []string{"worker", "goeval", "cellio", "display", "debugproto"}

// rankRoots are those a rank interpreter adds (go list -deps
// ./mpimagic/px/pxrank, less the worker's).
var rankRoots = []string{"mpi", "mpimagic/px/pxrank", "mpimagic/px/pxwire", "mpimagic/rankio"}

// roots returns the directories a build writes out: the worker's, and for
// a rank interpreter (tc set) the rank's.
func roots(tc *RankToolchain) []string {
	if tc == nil {
		return workerRoots
	}
	return append(append([]string{}, workerRoots...), rankRoots...)
}

// build builds the interpreter for pkgs into dir/binName: it writes a
// module in a temporary directory next to dir, and renames it to dir once
// the binary is there, so that a build that dies leaves nothing a later
// one would take for done.
func (b *Builder) build(ctx context.Context, dir string, pkgs []gomod.Package, sn gomod.Snapshot, tc *RankToolchain, progress Progress) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("creating the interpreter cache: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("creating the interpreter cache: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := b.writeModule(tmp, sn, roots(tc)); err != nil {
		return err
	}
	progress(Extracting, pkgs)
	var env []string
	args := []string{b.cfg.Go, "build", "-mod=mod", "-o", binName}
	if tc != nil {
		env = tc.Env
		if tc.Tags != "" {
			args = append(args, "-tags="+tc.Tags)
		}
	}
	ex, err := b.extract(ctx, tmp, pkgs, env)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "main.go"), mainSource(pkgs, ex, tc != nil), 0o600); err != nil {
		return fmt.Errorf("writing the interpreter: %w", err)
	}
	progress(Compiling, pkgs)
	out, err := b.run(ctx, tmp, env, append(args, ".")...)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return compileError(pkgs, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, binName)); serr != nil {
			return fmt.Errorf("storing the interpreter: %w", err)
		}
		// another kernel built the same interpreter at the same time
	}
	return nil
}

// writeModule writes the build module into dir: go.mod with the session's
// requirements plus mpigo's (mpigo itself replaced by its sources, written
// in dir/mpigo), and go.sum with the sums of both.
func (b *Builder) writeModule(dir string, sn gomod.Snapshot, roots []string) error {
	own, err := fs.ReadFile(b.cfg.Sources, "go.mod")
	if err != nil {
		return fmt.Errorf("mpigo's sources: %w", err)
	}
	ownSum, _ := fs.ReadFile(b.cfg.Sources, "go.sum")
	mf, err := modfile.Parse("go.mod", own, nil)
	if err != nil {
		return fmt.Errorf("mpigo's go.mod: %w", err)
	}
	src := filepath.Join(dir, "mpigo")
	if err := writeTree(b.cfg.Sources, src, roots, workerModFile(mf)); err != nil {
		return err
	}
	gomodText, err := sn.BuildModule("mpigo.local/interp", func(f *modfile.File) error {
		return requireMpigo(f, mf, "./mpigo")
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), gomodText, 0o600); err != nil {
		return fmt.Errorf("writing the interpreter's go.mod: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), gomod.MergeSums(sn.GoSum, ownSum), 0o600); err != nil {
		return fmt.Errorf("writing the interpreter's go.sum: %w", err)
	}
	return nil
}

// localReplaced lists the modules mpigo's go.mod replaces by a directory
// of its own tree (patched copies under third_party): they are not part of
// the worker and not written out, so their requirements are dropped.
func localReplaced(mf *modfile.File) map[string]bool {
	m := map[string]bool{}
	for _, r := range mf.Replace {
		if modfile.IsDirectoryPath(r.New.Path) {
			m[r.Old.Path] = true
		}
	}
	return m
}

// workerModFile is the go.mod written with mpigo's sources: mpigo's own,
// less the modules it replaces by directories of its tree.
func workerModFile(mf *modfile.File) []byte {
	skip := localReplaced(mf)
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\ngo %s\n", ModulePath, mf.Go.Version)
	for _, r := range mf.Require {
		if !skip[r.Mod.Path] {
			fmt.Fprintf(&b, "\nrequire %s %s", r.Mod.Path, r.Mod.Version)
		}
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// requireMpigo makes the build module require mpigo (replaced by srcDir)
// and mpigo's requirements at least at mpigo's versions.
func requireMpigo(f *modfile.File, mf *modfile.File, srcDir string) error {
	skip := localReplaced(mf)
	have := map[string]string{}
	for _, r := range f.Require {
		have[r.Mod.Path] = r.Mod.Version
	}
	for _, r := range mf.Require {
		if skip[r.Mod.Path] {
			continue
		}
		if v, ok := have[r.Mod.Path]; !ok || semverLess(v, r.Mod.Version) {
			if err := f.AddRequire(r.Mod.Path, r.Mod.Version); err != nil {
				return err
			}
		}
	}
	if err := f.AddRequire(ModulePath, "v0.0.0"); err != nil {
		return err
	}
	if f.Go == nil || semverLess("v"+f.Go.Version, "v"+mf.Go.Version) {
		if err := f.AddGoStmt(mf.Go.Version); err != nil {
			return err
		}
	}
	return f.AddReplace(ModulePath, "", srcDir, "")
}

// writeTree writes the non-test files of roots (and the embedded files
// they need) from fsys to dst, with modFile as dst/go.mod.
func writeTree(fsys fs.FS, dst string, roots []string, modFile []byte) error {
	write := func(rel string, b []byte) error {
		p := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o600)
	}
	for _, root := range roots {
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") || strings.Contains(p, "/testdata/") {
				return err
			}
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			return write(p, data)
		})
		if err != nil {
			return fmt.Errorf("writing mpigo's sources: %w", err)
		}
	}
	if err := write("go.mod", modFile); err != nil {
		return fmt.Errorf("writing mpigo's sources: %w", err)
	}
	return nil
}

// hashSources hashes the files Build writes from fsys.
func hashSources(h hash.Hash, fsys fs.FS) error {
	var names []string
	for _, root := range append(append([]string{"go.mod", "go.sum"}, workerRoots...), rankRoots...) {
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				names = append(names, p)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("mpigo's sources: %w", err)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return fmt.Errorf("mpigo's sources: %w", err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%s %s\n", n, hex.EncodeToString(sum[:]))
	}
	return nil
}

// semverLess compares two versions vX.Y.Z (or Go versions with a v in
// front); good enough for the go directive and module versions, which the
// go command orders itself anyway (MVS takes the highest).
func semverLess(a, b string) bool {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		var x, y int
		fmt.Sscanf(pa[i], "%d", &x)
		fmt.Sscanf(pb[i], "%d", &y)
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// mainSource is the interpreter's main package: it registers the packages
// with goeval and serves as the worker, or for a rank interpreter as a
// persistent rank (pxrank.Serve registers package mpi itself).
func mainSource(pkgs []gomod.Package, ex []extracted, rank bool) []byte {
	generic := map[string][]string{}
	names := map[string]string{}
	for _, x := range ex {
		generic[x.Path], names[x.Path] = x.Generic, x.Name
	}
	var b strings.Builder
	b.WriteString(`// Code generated by mpigo for an interpreter with packages compiled in. DO NOT EDIT.

package main

import (
	"fmt"
	"os"
	"reflect"

	"github.com/mpigo/mpigo/goeval"
	` + serveImport(rank) + `
)

// Symbols holds the symbol tables yaegi's extract wrote (symbols_*.go).
var Symbols = map[string]map[string]reflect.Value{}

var packages = []goeval.CompiledPackage{
`)
	for _, p := range pkgs {
		name := names[p.Path]
		if name == "" {
			name = path.Base(p.Path)
		}
		fmt.Fprintf(&b, "\t{Path: %q, Name: %q, Dir: %q, Generic: %#v},\n", p.Path, name, p.Dir, generic[p.Path])
	}
	b.WriteString(`}

func main() {
	for i := range packages {
		packages[i].Symbols = Symbols[packages[i].Path+"/"+packages[i].Name]
	}
	goeval.Register(packages...)
	` + serveCall(rank) + `
	for _, p := range packages {
		fmt.Println(p.Path)
	}
}
`)
	return []byte(b.String())
}

// serveImport is the import of the package main serves with.
func serveImport(rank bool) string {
	if rank {
		return `"github.com/mpigo/mpigo/mpimagic/px/pxrank"`
	}
	return `"github.com/mpigo/mpigo/worker"`
}

// serveCall is how main serves: as the worker when asked to, as a rank
// when the kernel's address is in the environment.
func serveCall(rank bool) string {
	if rank {
		return `if os.Getenv("MPIGO_PX") != "" {
		if err := pxrank.Serve(); err != nil {
			fmt.Fprintf(os.Stderr, "mpigo rank: %v\n", err)
			os.Exit(1)
		}
		return
	}`
	}
	return `if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := worker.Serve(); err != nil {
			fmt.Fprintf(os.Stderr, "mpigo worker: %v\n", err)
			os.Exit(1)
		}
		return
	}`
}

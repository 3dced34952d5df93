package mpimagic

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/program"
	"github.com/mpigo/mpigo/mpimagic/report"
	"github.com/mpigo/mpigo/mpimagic/shell"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// %mpirun --export DIR writes the cell to DIR as a program that stands
// alone, instead of running it:
//
//	DIR/main.go        the program the cell runs (same generation), with
//	                   comments naming the cells instead of //line directives
//	DIR/go.mod         module NAME; github.com/mpigo/mpigo => ./mpigo
//	DIR/mpigo/...      go.mod and packages mpi and display, from mpigo's
//	                   embedded sources: go build needs no network
//	DIR/job.sh         SLURM job (#SBATCH lines from the flags) that builds
//	                   and runs the program: sbatch job.sh, or bash job.sh
//	DIR/README.md      how to build, run and submit it
//	DIR/.mpigo-export  sha256sum of every file above: what the next export
//	                   may replace
//
// The program is compiled first (in the build cache, like a run): a cell
// that does not compile is an error and writes nothing. Where it cannot be
// compiled (no MPI here), it is written anyway, and the output says so.

// manifestName is the file listing what an export wrote, in sha256sum's
// format.
const manifestName = ".mpigo-export"

// exportFile is one file of an export.
type exportFile struct {
	rel  string // slash path under DIR
	data []byte
	mode fs.FileMode
}

// exportCell is %mpirun --export: o.Export is the directory.
func (m *Magic) exportCell(ctx context.Context, cell int, o Options, body string, out cellio.Output) (cellio.Result, error) {
	cellName := "cell[" + strconv.Itoa(cell) + "]"
	dirArg := filepath.Clean(o.Export)
	abs, err := filepath.Abs(dirArg)
	if err != nil {
		return cellio.Result{}, report.ExportError(fmt.Errorf("--export %s: %w", dirArg, err))
	}
	if err := slurm.CheckEnv(o.Env); err != nil {
		return cellio.Result{}, usageError(&UsageError{Reason: err.Error(), Usage: MagicUsage})
	}
	if o.Hostfile != "" {
		if o.Hostfile, err = filepath.Abs(o.Hostfile); err != nil {
			return cellio.Result{}, report.ExportError(fmt.Errorf("--hostfile: %w", err))
		}
	}
	local := o
	if local.Launcher == "srun" {
		local.Launcher = "auto" // the job's srun need not be here: build for this MPI
	}
	r, ctx, end, err := m.startRun(ctx, local, out, "stdout", true)
	if err != nil {
		return cellio.Result{}, report.MagicError(err)
	}
	defer end()
	c := &cellRun{run: r, cell: cell, cellName: cellName}
	x, werr := c.exportProgram(ctx, body)
	if werr != nil {
		return cellio.Result{}, werr
	}
	spec := jobSpec{opts: o, name: jobName(abs), cellName: cellName, dirArg: dirArg, modules: len(x.mods.GoMod) > 0}
	files, err := exportFiles(spec, x)
	if err == nil && o.Vendor {
		r.pr.Set("vendoring the modules (go mod vendor)…", false)
		files, err = vendor(ctx, files, o.env)
	}
	if err != nil {
		r.pr.Set("failed: nothing exported", true)
		return cellio.Result{}, report.ExportError(fmt.Errorf("--export %s: %w", dirArg, err))
	}
	res, err := writeExport(abs, files)
	if err != nil {
		r.pr.Set("failed: nothing exported", true)
		return cellio.Result{}, report.ExportError(fmt.Errorf("--export %s: %w", dirArg, err))
	}
	r.pr.Set("exported to "+dirArg, true)
	r.em.Text("stdout", []byte(exportReport(spec, abs, x.inherited, res, x.compiled, x.buildErr)))
	return cellio.Result{}, nil
}

// exported is the program an export writes.
type exported struct {
	src       *build.Sources
	mainGo    []byte
	inherited []goeval.Decl  // the declarations of earlier cells in it
	mods      gomod.Snapshot // the module requirements of its imports (zero: none)
	compiled  string         // the MPI it was compiled with here ("": not compiled)
	buildErr  error          // why it was not
}

// exportProgram makes the program to export and compiles it as the cell
// runs it (errors name the cell's lines), then the tidy version, which is
// kept only if it compiles too. Where nothing can be compiled (no MPI
// here), the plain version is written: it is the cell's program with
// comments moved.
func (c *cellRun) exportProgram(ctx context.Context, body string) (*exported, *cellio.Error) {
	src, err := c.m.sources()
	if err != nil {
		return nil, report.MagicError(err)
	}
	decls := c.m.decls()
	gen, err := program.Generate(body, decls, src.Exports())
	if err != nil {
		c.pr.Set("does not compile: nothing exported", true)
		return nil, compileError(err, c.rename)
	}
	plain, tidy, err := program.ExportSources(body, decls, src.Exports(), c.cellName)
	if err != nil {
		c.pr.Set("failed", true)
		return nil, report.ExportError(fmt.Errorf("--export: writing the program: %w", err))
	}
	mods, werr := c.provideCell(ctx, gen.Imports)
	if werr != nil {
		return nil, werr
	}
	x := &exported{src: src, mainGo: plain, inherited: gen.Inherited, mods: mods}
	if x.buildErr = c.setup(ctx, false); x.buildErr == nil {
		c.pr.Set(c.buildingText(), false)
		_, x.buildErr = c.m.compile(ctx, "cell", map[string][]byte{"main.go": []byte(gen.Source)}, mods, c.tc, c.o.env, c.verbose)
	}
	var ce *program.CompileError
	switch {
	case ctx.Err() != nil:
		return nil, c.exportInterrupted()
	case errors.As(x.buildErr, &ce):
		c.pr.Set("does not compile: nothing exported", true)
		return nil, compileError(x.buildErr, c.rename)
	case x.buildErr != nil:
		c.verbose("not compiled here: " + x.buildErr.Error())
		return x, nil
	}
	x.compiled = c.tc.Describe()
	c.m.remember(c.cell, body, gen.HasMain)
	if !bytes.Equal(tidy, plain) {
		_, err := c.m.compile(ctx, "prog", map[string][]byte{"main.go": tidy}, mods, c.tc, c.o.env, c.verbose)
		switch {
		case ctx.Err() != nil:
			return nil, c.exportInterrupted()
		case err == nil:
			x.mainGo = tidy
		default:
			c.m.log.Warn("mpirun --export: the tidied program does not compile; exporting it as generated", "err", err)
		}
	}
	return x, nil
}

// exportInterrupted is an export interrupted while it was building.
func (c *cellRun) exportInterrupted() *cellio.Error {
	c.pr.Set("interrupted: nothing exported", true)
	return report.Stopped(launch.StopInterrupt, "the cell was interrupted while its program was being built; nothing was exported")
}

// goMod is the go.mod of an export: the program's module, with mpigo's
// packages from ./mpigo.
func goMod(module, goVersion string) string {
	return fmt.Sprintf(`// A notebook cell exported by mpigo (%%mpirun --export). Packages mpi and
// display come from ./mpigo, so go build needs no network.
module %s

go %s

require %s v0.0.0

replace %s => ./mpigo
`, module, goVersion, build.ModulePath, build.ModulePath)
}

// moduleName makes a module path of a job name.
func moduleName(job string) string {
	name := strings.Trim(strings.ToLower(job), "._-")
	if name == "" || !token.IsIdentifier("x"+strings.NewReplacer(".", "", "-", "").Replace(name)) {
		return progName
	}
	return name
}

// exportFiles lists the files of an export (without vendor/).
func exportFiles(s jobSpec, x *exported) ([]exportFile, error) {
	src := x.src
	mod, err := moduleFiles(moduleName(s.name), src, x.mods)
	if err != nil {
		return nil, err
	}
	files := []exportFile{{rel: "main.go", data: x.mainGo, mode: 0o644}}
	files = append(files, mod...)
	files = append(files,
		exportFile{rel: "job.sh", data: []byte(jobScript(s)), mode: 0o755},
		exportFile{rel: "README.md", data: []byte(exportReadme(s)), mode: 0o644},
		exportFile{rel: "mpigo/go.mod", data: []byte(src.ModFile()), mode: 0o644},
	)
	var names []string
	for p := range src.Files() {
		if strings.HasPrefix(p, "mpi/") || strings.HasPrefix(p, "display/") {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		files = append(files, exportFile{rel: "mpigo/" + p, data: src.Files()[p], mode: 0o644})
	}
	return files, nil
}

// exportReadme is DIR/README.md.
func exportReadme(s jobSpec) string {
	dir := shell.Quote(s.dirArg)
	return fmt.Sprintf("# %s\n\n"+
		"Cell %s of a notebook, an `%%mpirun` cell, exported by mpigo with the declarations\n"+
		"of earlier cells that it uses:\n\n"+
		"    %s\n\n"+
		"| file | |\n|---|---|\n"+
		"| `main.go` | the program |\n"+
		"| `go.mod` | its module; `github.com/mpigo/mpigo` (packages `mpi` and `display`) comes from `./mpigo` |\n"+
		"| `mpigo/` | the sources of those packages: building needs no network |\n"+
		"| `go.sum`, `vendor/` | when the cell imports packages of other modules: their sums, and with `--vendor` their sources (the build then needs no module cache) |\n"+
		"| `job.sh` | the SLURM job: builds the program and runs it on %d ranks |\n\n"+
		"Submit it to SLURM (its output goes to `%s-JOBID.out`):\n\n"+
		"    cd %s && sbatch job.sh\n\n"+
		"Run it without SLURM (with `mpiexec`; Go and an MPI with its development files needed):\n\n"+
		"    bash %s/job.sh\n\n"+
		"or build and run it by hand:\n\n"+
		"    cd %s && go build -tags ompi -o prog . && mpiexec -n %d ./prog    # -tags mpich for MPICH\n\n"+
		"or with mpigo: `mpigo run -n %d %s`.\n\n"+
		"The settings (ranks, time limit, partition, launcher arguments, environment) are at\n"+
		"the top of `job.sh`. `%s` lists the files mpigo wrote: exporting the cell again\n"+
		"replaces them, unless they were changed since.\n",
		s.name, s.cellName, magicLine(s), s.opts.N, s.name, dir, strings.TrimSuffix(dir, "/"), dir, s.opts.N, s.opts.N, dir, manifestName)
}

// exportResult is what writeExport did.
type exportResult struct {
	written   []string // files created or replaced
	unchanged []string // files that already held what the export writes
	removed   []string // files of an earlier export that this one no longer has
}

// exportConflict is an existing file that an export will not replace.
type exportConflict struct {
	rel, why string
}

// writeExport writes files into dir. A file may be replaced when it
// already holds the new content, or when the manifest of an earlier export
// lists it with its current content (it was written by mpigo and not
// changed since). Anything else in the way (a file written or edited by
// someone else, a directory, a link) stops the export before anything is
// written. Each file is written to a temporary file and renamed into
// place; the manifest goes last. Files of the earlier export that this one
// does not write are removed if unchanged.
func writeExport(dir string, files []exportFile) (*exportResult, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s is a file, not a directory", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the directory: %w", err)
	}
	old := readManifest(filepath.Join(dir, manifestName))
	res := &exportResult{}
	var conflicts []exportConflict
	var todo []exportFile
	newSet := map[string]bool{}
	for _, f := range files {
		newSet[f.rel] = true
		cur, why := existing(dir, f.rel)
		switch {
		case why != "":
			conflicts = append(conflicts, exportConflict{f.rel, why})
		case cur == nil:
			todo = append(todo, f)
		case bytes.Equal(cur, f.data):
			res.unchanged = append(res.unchanged, f.rel)
			todo = append(todo, f) // for its mode
		case old[f.rel] == hashOf(cur):
			todo = append(todo, f)
		case old[f.rel] != "":
			conflicts = append(conflicts, exportConflict{f.rel, "changed since the last export"})
		default:
			conflicts = append(conflicts, exportConflict{f.rel, "not written by mpigo"})
		}
	}
	if len(conflicts) > 0 {
		return nil, conflictError(dir, conflicts)
	}
	for _, f := range todo {
		changed, err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(f.rel)), f.data, f.mode)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", f.rel, err)
		}
		if changed {
			res.written = append(res.written, f.rel)
		}
	}
	var stale []string
	for rel := range old {
		if !newSet[rel] {
			stale = append(stale, rel)
		}
	}
	sort.Strings(stale)
	for _, rel := range stale {
		cur, why := existing(dir, rel)
		if why != "" || cur == nil || hashOf(cur) != old[rel] {
			continue // someone else's now: left alone
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.Remove(p); err == nil {
			res.removed = append(res.removed, rel)
			// and the directories it leaves empty, up to dir
			for d := filepath.Dir(p); d != dir && strings.HasPrefix(d, dir); d = filepath.Dir(d) {
				if os.Remove(d) != nil {
					break
				}
			}
		}
	}
	var man strings.Builder
	for _, f := range files {
		fmt.Fprintf(&man, "%s  %s\n", hashOf(f.data), f.rel)
	}
	if _, err := writeFileAtomic(filepath.Join(dir, manifestName), []byte(man.String()), 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", manifestName, err)
	}
	return res, nil
}

// conflictError says which files an export will not replace, and why.
func conflictError(dir string, conflicts []exportConflict) error {
	var parts []string
	for i, c := range conflicts {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(conflicts)-i))
			break
		}
		parts = append(parts, c.rel+" ("+c.why+")")
	}
	return fmt.Errorf("will not overwrite %s in %s: mpigo replaces only the files an earlier export wrote and nobody changed since; "+
		"move them away, or export to another directory", strings.Join(parts, ", "), dir)
}

// existing returns the content of dir/rel, nil if there is none, or why it
// is in the way: not a regular file, or under something that is not a
// directory (a link is never followed).
func existing(dir, rel string) (content []byte, why string) {
	parts := strings.Split(rel, "/")
	p := dir
	for i, part := range parts {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ""
		}
		if err != nil {
			return nil, err.Error()
		}
		last := i == len(parts)-1
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return nil, "a symbolic link"
		case !last && !fi.IsDir():
			return nil, path.Join(parts[:i+1]...) + " is a file, not a directory"
		case last && !fi.Mode().IsRegular():
			return nil, "not a regular file"
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err.Error()
	}
	return b, ""
}

// readManifest reads an export's manifest: slash path → sha256 (hex). A
// missing or unreadable one is empty.
func readManifest(p string) map[string]string {
	m := map[string]string{}
	b, err := os.ReadFile(p)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		h, rel, ok := strings.Cut(line, "  ")
		if ok && len(h) == 64 && rel != "" && !strings.Contains(rel, "..") && !strings.HasPrefix(rel, "/") {
			m[rel] = h
		}
	}
	return m
}

// hashOf is the sha256 of b in hex.
func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// writeFileAtomic writes data to p (creating its directory) through a
// temporary file renamed into place, unless p already holds data with that
// mode; it reports whether it wrote.
func writeFileAtomic(p string, data []byte, mode fs.FileMode) (bool, error) {
	if cur, err := os.ReadFile(p); err == nil && bytes.Equal(cur, data) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() == mode {
			return false, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), p)
}

// exportReport is the cell's output after an export.
func exportReport(s jobSpec, abs string, inherited []goeval.Decl, res *exportResult, compiled string, buildErr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Exported %s to %s", s.cellName, abs)
	if len(inherited) > 0 {
		var names []string
		for _, d := range inherited {
			names = append(names, fmt.Sprintf("%s %s (cell[%d])", d.Kind, d.Name, d.Cell))
		}
		fmt.Fprintf(&b, ", with %s from earlier cells: %s", report.Plural(len(inherited), "declaration"), strings.Join(names, ", "))
	}
	b.WriteString("\n")
	dir := s.dirArg
	width := len(path.Join(filepath.ToSlash(dir), "README.md"))
	row := func(name, what string) {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, path.Join(filepath.ToSlash(dir), name)+strings.Repeat("/", strings.Count(name, "/")), what)
	}
	if compiled != "" {
		row("main.go", "the program (compiles here with "+compiled+")")
	} else {
		row("main.go", "the program")
	}
	row("go.mod", "its module, with github.com/mpigo/mpigo from ./mpigo")
	row("mpigo/", "packages mpi and display: go build needs no network")
	if s.modules {
		row("go.sum", "the sums of the modules the program imports (go.mod requires the notebook's versions)")
	}
	if s.opts.Vendor {
		row("vendor/", "those modules' packages (go mod vendor): the job builds with -mod=vendor")
	}
	row("job.sh", fmt.Sprintf("the SLURM job: %s, --time=%s; builds and runs the program", report.Plural(s.opts.N, "task"), jobTime(s.opts)))
	row("README.md", "how to build, run and submit it")
	if len(res.written) == 0 {
		b.WriteString("(every file already held this export)\n")
	}
	if len(res.removed) > 0 {
		fmt.Fprintf(&b, "Removed files of the earlier export: %s\n", strings.Join(res.removed, ", "))
	}
	if buildErr != nil {
		msg, _, _ := strings.Cut(buildErr.Error(), "\n")
		fmt.Fprintf(&b, "Not compiled here (%s): job.sh builds it where it runs.\n", msg)
	}
	q := shell.Quote(dir)
	fmt.Fprintf(&b, "\nSubmit it:    cd %s && sbatch job.sh\nRun it here:  bash %s/job.sh\n", q, strings.TrimSuffix(q, "/"))
	return b.String()
}

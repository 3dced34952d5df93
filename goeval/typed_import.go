package goeval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"
)

// typeState is what a session keeps for its type checks: the importer of
// the standard library (which caches what it imported) and the types of
// the variables that statements defined.
type typeState struct {
	importer *cellImporter
	// vars are the types of session variables, recorded when the cell that
	// defined them was type-checked; defCell is the cell that last defined
	// each variable by a statement; pending are the cells that defined
	// variables without a check (see noteDefines), and rechecking those
	// being checked.
	vars       map[string]varRecord
	defCell    map[string]int
	pending    map[string]*cellCode
	rechecking map[int]bool
	checks     int // type checks run, for tests
}

// typeState returns the session's type-check state, created at first use.
func (s *Session) typeState() *typeState {
	if s.typed == nil {
		s.typed = &typeState{importer: newCellImporter(), vars: map[string]varRecord{}, defCell: map[string]int{},
			pending: map[string]*cellCode{}, rechecking: map[int]bool{}}
	}
	return s.typed
}

// cellImporter imports the packages cells can use for go/types: the
// standard library from the export data the go command lists (the source
// importer when there is no go command: slower, ~0.5 s for fmt), and
// display from its symbols.
type cellImporter struct {
	fset    *token.FileSet // positions of imported objects
	gc      types.Importer
	source  types.Importer
	mode    string // "", then "gc" or "source" once chosen
	display *types.Package
	// compiled are the registered packages, by path.
	compiled map[string]*types.Package
}

// newCellImporter returns an importer; nothing runs before the first import.
func newCellImporter() *cellImporter {
	fset := token.NewFileSet()
	return &cellImporter{fset: fset, gc: importer.ForCompiler(fset, "gc", lookupExport), compiled: map[string]*types.Package{}}
}

// Import implements types.Importer.
func (im *cellImporter) Import(path string) (*types.Package, error) {
	if path == displayPath {
		return im.displayPackage()
	}
	if p := packages().byPath[path]; p != nil && registeredPath(path) {
		return im.compiledPackage(p), nil
	}
	if im.chooseMode([]string{path}) == "source" {
		return im.source.Import(path)
	}
	return im.gc.Import(path)
}

// chooseMode decides once, listing the export data of paths, whether
// packages come from export data or from source: the two cannot be mixed
// in one session (a package imported both ways has two identities).
func (im *cellImporter) chooseMode(paths []string) string {
	if im.mode == "" {
		im.mode = "gc"
		if err := listExports(paths); err != nil {
			im.mode = "source"
			im.source = importer.ForCompiler(im.fset, "source", nil)
		}
	}
	return im.mode
}

// prefetch lists the export data of packages in one run of the go
// command, before the checker imports them one by one.
func (ts *typeState) prefetch(paths map[string]bool) {
	var list []string
	for p := range paths {
		if p != displayPath && p != "unsafe" && p != "C" && !registeredPath(p) {
			list = append(list, p)
		}
	}
	sort.Strings(list)
	if len(list) == 0 || ts.importer.chooseMode(list) != "gc" {
		return
	}
	_ = listExports(list) // a failure shows in the import
}

// exports maps import paths to their export data files, for the process:
// the go command's build cache does not change under it.
var exports = struct {
	sync.Mutex
	files map[string]string
}{files: map[string]string{}}

// goListError is a failure of the go command.
type goListError struct {
	args []string
	err  error
	out  string
}

// Error implements error.
func (e *goListError) Error() string {
	return fmt.Sprintf("go %s: %v: %s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.out))
}

// listExports runs go list -export once for the paths not listed yet.
// It runs in GOROOT with the local toolchain, so that the notebook's
// directory (its go.mod, a toolchain line) plays no part.
func listExports(paths []string) error {
	exports.Lock()
	defer exports.Unlock()
	var missing []string
	for _, p := range paths {
		if _, ok := exports.files[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	tool, dir, env := goCommand()
	args := append([]string{"list", "-e", "-export", "-f", "{{.ImportPath}}\t{{.Export}}"}, missing...)
	ctx, cancel := context.WithTimeout(context.Background(), goListTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return &goListError{args: args, err: err, out: stderr.String()}
	}
	for _, line := range strings.Split(string(out), "\n") {
		if p, file, ok := strings.Cut(line, "\t"); ok && file != "" {
			exports.files[p] = file
		}
	}
	for _, p := range missing {
		if _, ok := exports.files[p]; !ok {
			exports.files[p] = "" // not a package with export data: not listed again
		}
	}
	return nil
}

// goListTimeout bounds a run of go list: with a cold build cache it
// compiles the packages listed (seconds); a type check is not worth more.
const goListTimeout = time.Minute

// goCommand returns the go command of the Go installation this program was
// built with (the one in PATH if that is gone), the directory to run it
// in, and its environment: the local toolchain, no workspace, no flags
// from the user's environment.
func goCommand() (tool, dir string, env []string) {
	env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
	if root := build.Default.GOROOT; root != "" {
		tool = filepath.Join(root, "bin", "go")
		if _, err := os.Stat(tool); err == nil {
			return tool, root, append(env, "PWD="+root, "GOROOT="+root)
		}
	}
	dir = os.TempDir()
	tool, err := exec.LookPath("go")
	if err != nil {
		tool = "go" // the run fails, and the source importer is used
	}
	return tool, dir, append(env, "PWD="+dir)
}

// errNoExport is the import of a package that has no export data.
var errNoExport = errors.New("no export data")

// lookupExport opens the export data of a package for the gc importer.
func lookupExport(path string) (io.ReadCloser, error) {
	if err := listExports([]string{path}); err != nil {
		return nil, err
	}
	exports.Lock()
	file := exports.files[path]
	exports.Unlock()
	if file == "" {
		return nil, fmt.Errorf("%s: %w", path, errNoExport)
	}
	return os.Open(file)
}

// displayPackage builds package display for go/types from the functions
// cells see (displaySymbols): its source is not available at run time.
func (im *cellImporter) displayPackage() (*types.Package, error) {
	if im.display != nil {
		return im.display, nil
	}
	pkg := types.NewPackage(displayPath, "display")
	conv := &reflectTypes{imp: im}
	syms := displaySymbols[displayPath+"/display"]
	names := make([]string, 0, len(syms))
	for n := range syms {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t, ok := conv.convert(syms[n].Type(), pkg)
		if sig, isSig := t.(*types.Signature); ok && isSig {
			pkg.Scope().Insert(types.NewFunc(token.NoPos, pkg, n, sig))
		}
	}
	pkg.MarkComplete()
	im.display = pkg
	return pkg, nil
}

// reflectTypes converts the reflect types of values (of compiled code, or
// of the interpreter) into go/types types, when they are certain: named
// types of importable packages, and type literals made of those. The
// interpreter's own types (its structs, interfaces, and its named types,
// which reflect sees as their underlying types) are not certain.
type reflectTypes struct {
	imp types.Importer
}

// convert returns the go/types type of t; pkg is the package of the
// parameters it creates for signatures.
func (rc *reflectTypes) convert(t reflect.Type, pkg *types.Package) (types.Type, bool) {
	if t.Name() != "" {
		return rc.named(t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		e, ok := rc.convert(t.Elem(), pkg)
		return types.NewPointer(e), ok
	case reflect.Slice:
		e, ok := rc.convert(t.Elem(), pkg)
		return types.NewSlice(e), ok
	case reflect.Array:
		e, ok := rc.convert(t.Elem(), pkg)
		return types.NewArray(e, int64(t.Len())), ok
	case reflect.Map:
		k, ok1 := rc.convert(t.Key(), pkg)
		e, ok2 := rc.convert(t.Elem(), pkg)
		return types.NewMap(k, e), ok1 && ok2
	case reflect.Chan:
		e, ok := rc.convert(t.Elem(), pkg)
		dir := map[reflect.ChanDir]types.ChanDir{reflect.BothDir: types.SendRecv, reflect.SendDir: types.SendOnly, reflect.RecvDir: types.RecvOnly}[t.ChanDir()]
		return types.NewChan(dir, e), ok
	case reflect.Func:
		return rc.signature(t, pkg)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return types.NewInterfaceType(nil, nil).Complete(), true
		}
	}
	return types.Typ[types.Invalid], false
}

// named returns the type of a named reflect type: a predeclared type, or
// a type of a package the importer knows.
func (rc *reflectTypes) named(t reflect.Type) (types.Type, bool) {
	if t.PkgPath() == "" {
		if obj, ok := types.Universe.Lookup(t.Name()).(*types.TypeName); ok {
			return obj.Type(), true
		}
		return types.Typ[types.Invalid], false
	}
	if strings.Contains(t.Name(), "[") || strings.HasPrefix(t.PkgPath(), "github.com/traefik/yaegi") {
		return types.Typ[types.Invalid], false
	}
	p, err := rc.imp.Import(t.PkgPath())
	if err != nil {
		return types.Typ[types.Invalid], false
	}
	if obj, ok := p.Scope().Lookup(t.Name()).(*types.TypeName); ok {
		return obj.Type(), true
	}
	return types.Typ[types.Invalid], false
}

// signature converts a func type.
func (rc *reflectTypes) signature(t reflect.Type, pkg *types.Package) (types.Type, bool) {
	ok := true
	vars := func(n int, at func(int) reflect.Type) *types.Tuple {
		vs := make([]*types.Var, n)
		for i := range n {
			ti, tok := rc.convert(at(i), pkg)
			ok = ok && tok
			vs[i] = types.NewParam(token.NoPos, pkg, "", ti)
		}
		return types.NewTuple(vs...)
	}
	params := vars(t.NumIn(), t.In)
	results := vars(t.NumOut(), t.Out)
	return types.NewSignatureType(nil, nil, nil, params, results, t.IsVariadic()), ok
}

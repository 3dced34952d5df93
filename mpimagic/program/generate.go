package program

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/mpigo/mpigo/goeval"
)

// CellFile is the file name generated programs give the %mpirun cell: the
// positions of compile errors and of tracebacks name it, and the magic
// shows it as cell[N], N being the execution count. Keeping N out of the
// program lets a re-run cell (which gets a new count) reuse its build.
const CellFile = "cell[mpirun]"

const (
	mpiPath     = "github.com/mpigo/mpigo/mpi"
	displayPath = "github.com/mpigo/mpigo/display"
	// MPIAlias is the name under which the generated code calls mpi, so
	// that a cell may use the name mpi for something else.
	MPIAlias = "mpigoMPI"
	// outPath is the package a --out program sends its value with, and
	// OutAlias the name the generated code gives it.
	outPath  = "github.com/mpigo/mpigo/mpimagic/rankio/rankout"
	OutAlias = "mpigoOut"
)

// ErrEmpty is returned by Generate for a cell without code.
var ErrEmpty = errors.New("the cell has no Go code below its %mpirun line")

// CompileError is a cell that does not compile. Lines are the compiler's
// messages, "FILE:LINE:COL: message", positions named after the cell
// (CellFile) or the earlier cell of a declaration (cell[N]).
type CompileError struct {
	Lines []string
}

// Error returns the first message.
func (e *CompileError) Error() string {
	if len(e.Lines) == 0 {
		return "compile error"
	}
	return e.Lines[0]
}

// Generated is the Go program made from a cell.
type Generated struct {
	Source    string        // the program's main.go
	HasMain   bool          // the cell declares func main itself
	Inherited []goeval.Decl // the declarations of earlier cells compiled in
	// Imports are the packages the program imports that a module must
	// provide (ModuleImport), with the cell lines that import them.
	Imports []Import
	// Out is where the final expression that GenerateOut sends back
	// starts, in the cell; zero for Generate.
	Out Pos
}

// Pos is a place in the %mpirun cell: its %mpirun line is line 1.
type Pos struct{ Line, Col int }

// GenerateOut is Generate for %mpirun --out: the cell's final statement,
// which must be an expression, becomes rankout.Send(EXPR), sending its
// value, with its static type, back to the notebook (package rankout). A
// cell without one, or with its own func main, is an *OutError.
func GenerateOut(body string, decls []goeval.Decl, mpiExports []string) (*Generated, error) {
	return generate(body, decls, mpiExports, genOptions{out: true})
}

// Generate makes a program from body, the cell below its %mpirun line (so
// body line 1 is cell line 2), and decls, the declarations of earlier cells.
// The cell is main's body unless it declares func main; either way MPI is
// initialised before it and finalised after it. Only the earlier
// declarations the cell uses, directly or through each other, are compiled
// in (so an unrelated one that no longer compiles does no harm); a
// declaration of the cell wins over an earlier one of the same name.
// Missing imports of the standard library, mpi and display are added,
// unused imports dropped, and variables that are declared but not used are
// marked used: the notebook forgives both. //line directives make compile
// errors name the cell's own lines (CellFile:LINE:COL) and, for an earlier
// declaration, its cell (cell[N]:LINE:COL). mpiExports lists the exported
// names of package mpi (for the automatic import).
func Generate(body string, decls []goeval.Decl, mpiExports []string) (*Generated, error) {
	return generate(body, decls, mpiExports, genOptions{})
}

// genOptions vary the program generate writes.
type genOptions struct {
	// export writes a program to be read and kept (--export): comments
	// naming the cells instead of //line directives, so that positions are
	// those of the program's own file, and a header saying where it came
	// from (cell, the cell's name, cell[N]).
	export bool
	cell   string
	// tidy marks only the variables that may be unused, rather than every
	// variable the cell declares. It relies on go/parser's resolution of
	// identifiers, so its programs are compiled before they are trusted.
	tidy bool
	// out sends the value of the cell's final expression back (GenerateOut).
	out bool
}

// generate is Generate with options.
func generate(body string, decls []goeval.Decl, mpiExports []string, opts genOptions) (*Generated, error) {
	chunks, hasMain := splitChunks(body)
	if len(chunks) == 0 {
		return nil, ErrEmpty
	}
	if hasMain {
		if err := statementBesideMain(body, chunks); err != nil {
			return nil, err
		}
	}
	if opts.out && hasMain {
		return nil, outWithMain(chunkPos(body, mainChunk(chunks)))
	}
	g := &generator{body: body, chunks: chunks, hasMain: hasMain, opts: opts}

	// Pass 1: the cell alone, to know what it declares and what it needs.
	src0 := g.source(nil, nil)
	fset := token.NewFileSet()
	f0, err := parser.ParseFile(fset, "main.go", src0, parser.AllErrors)
	if err != nil {
		return nil, syntaxError(fset, err)
	}
	inherited, inhImports := selectDecls(decls, declaredNames(f0), unresolvedNames(f0))

	// Pass 2: with the earlier declarations, add the missing imports.
	src1 := g.source(inherited, inhImports)
	added := goeval.MissingImports(src1, nil, goeval.Package{Path: mpiPath, Name: "mpi", Exports: mpiExports})
	added = append(added, compiledOnlyImports(src1, added)...)
	src2 := g.sourceWith(inherited, inhImports, added)
	fset = token.NewFileSet()
	f2, err := parser.ParseFile(fset, "main.go", src2, parser.AllErrors)
	if err != nil {
		return nil, syntaxError(fset, err)
	}

	// Pass 3: edits that keep every position: drop unused imports, mark
	// declared variables used, initialise MPI in the cell's own main.
	var ed edits
	dropUnusedImports(fset, f2, &ed)
	var read func(*ast.Ident) bool
	if opts.tidy {
		read = readVars(f2)
	}
	markUsed(fset, f2, &ed, read)
	if hasMain {
		initMPIInMain(fset, f2, &ed)
	}
	var out Pos
	if opts.out {
		if out, err = sendFinal(fset, f2, &ed, body, chunks); err != nil {
			return nil, err
		}
	}
	src := ed.apply(src2)
	if !hasMain && !opts.export {
		src = nameCellCall(src)
	}
	return &Generated{Source: src, HasMain: hasMain, Inherited: inherited, Imports: moduleImports(src), Out: out}, nil
}

// statementBesideMain is the error of a cell that declares func main and
// also holds a statement outside it (nil if it holds none).
func statementBesideMain(body string, chunks []chunk) error {
	for _, c := range chunks {
		if c.kind == chunkStmt {
			line, col := lineCol(body, c.start)
			return &CompileError{Lines: []string{fmt.Sprintf("%s:%d:%d: a cell that declares func main holds declarations only (import, func, type, const, var): move this statement into main",
				CellFile, line+1, col)}}
		}
	}
	return nil
}

// dropUnusedImports blanks the imports f uses nowhere (the compiler
// refuses them), keeping positions: mpi, --out's package, blank and dot
// imports stay.
func dropUnusedImports(fset *token.FileSet, f *ast.File, ed *edits) {
	used := unresolvedNames(f)
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		var unused []ast.Spec
		for _, s := range gd.Specs {
			name := importName(s.(*ast.ImportSpec))
			if name != "_" && name != "." && name != MPIAlias && name != OutAlias && !used[name] {
				unused = append(unused, s)
			}
		}
		switch {
		case len(unused) == 0:
		case !gd.Lparen.IsValid():
			ed.blank(fset, gd.Pos(), gd.End())
		default:
			for _, s := range unused {
				ed.blank(fset, s.Pos(), s.End())
			}
		}
	}
}

// initMPIInMain makes the cell's own func main initialise MPI first and
// finalise it last, on the line of its opening brace.
func initMPIInMain(fset *token.FileSet, f *ast.File, ed *edits) {
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "main" && fd.Body != nil {
			at := fd.Body.Lbrace + 1
			ed.insert(fset, at, MPIAlias+".Init(); defer "+MPIAlias+".Finalize();"+lineComment(fset, at))
		}
	}
}

// cellCall ends the function literal that holds the cell's statements,
// and calls it.
const cellCall = "}()"

// nameCellCall names the call of the cell's function literal after the
// %mpirun line (the cell's line 1): it is main's frame in a traceback, and
// the lines past the cell's end, where it is, point at nothing the user
// wrote. It is done last, so that a syntax error at the cell's end is
// still reported there (at the literal's closing brace).
func nameCellCall(src string) string {
	i := strings.LastIndex(src, cellCall)
	if i < 0 {
		return src
	}
	return src[:i+1] + "/*line " + CellFile + ":1:1*/" + src[i+1:]
}

// generator writes the program's source from a cell's chunks.
type generator struct {
	body    string
	chunks  []chunk
	hasMain bool
	opts    genOptions
}

// source is the program with the given earlier declarations and imports.
func (g *generator) source(inherited, imports []goeval.Decl) string {
	return g.sourceWith(inherited, imports, nil)
}

// sourceWith is source with extra imports by path.
func (g *generator) sourceWith(inherited, imports []goeval.Decl, paths []string) string {
	var b strings.Builder
	if g.opts.export {
		fmt.Fprintf(&b, "// This program is %s of a notebook, an %%mpirun cell, with the declarations\n"+
			"// of earlier cells that it uses, exported by mpigo (%%mpirun --export).\n"+
			"// job.sh builds and runs it; README.md says how.\n", g.opts.cell)
		b.WriteString("package main\n\n")
	} else {
		b.WriteString("// Code generated by mpigo's %mpirun from a notebook cell. DO NOT EDIT.\n\npackage main\n\n")
	}
	fmt.Fprintf(&b, "import %s %q\n", MPIAlias, mpiPath)
	if g.opts.out {
		fmt.Fprintf(&b, "import %s %q\n", OutAlias, outPath)
	}
	for _, p := range paths {
		fmt.Fprintf(&b, "import %q\n", p)
	}
	for _, d := range imports {
		b.WriteString(g.directive(d.Cell, d.Line))
		b.WriteString(d.Src)
		b.WriteString("\n")
	}
	b.WriteString(g.directive(-1, 2))
	b.WriteString(g.only(chunkImport))
	b.WriteString("\n")
	b.WriteString(g.directive(-1, 2))
	b.WriteString(g.only(chunkDecl))
	b.WriteString("\n")
	for _, d := range inherited {
		if g.opts.export {
			fmt.Fprintf(&b, "\n// From cell[%d]:\n", d.Cell)
		}
		b.WriteString(g.directive(d.Cell, d.Line))
		b.WriteString(d.Src)
		b.WriteString("\n")
	}
	if !g.hasMain {
		// The cell runs in a function literal: a return in it still
		// reaches Finalize, a panic skips it (MPI_Finalize would wait for
		// the other ranks forever) and ends the process.
		fmt.Fprintf(&b, "\nfunc main() {\n\t%s.Init()\n\tfunc() {\n", MPIAlias)
		if g.opts.export {
			fmt.Fprintf(&b, "// %s:\n", g.opts.cell)
		}
		b.WriteString(g.directive(-1, 2))
		b.WriteString(g.only(chunkStmt))
		fmt.Fprintf(&b, "\n\t%s\n\t%s.Finalize()\n}\n", cellCall, MPIAlias)
	}
	return b.String()
}

// only returns the cell body with everything but the chunks of kind k
// blanked out (newlines kept), so that positions stay those of the cell.
// For an exported program the comments between the chunks are kept with
// one chunk only (see commentKind), so that each appears once.
func (g *generator) only(k chunkKind) string {
	b := []byte(g.body)
	for _, c := range g.chunks {
		if c.kind != k {
			blankBytes(b[c.start:c.end])
		}
	}
	if g.opts.export {
		for _, c := range g.topComments() {
			if c.kind != k {
				blankBytes(b[c.start:c.end])
			}
		}
	}
	return string(b)
}

// topComment is a comment of the cell outside its chunks, and the kind of
// chunk it goes with.
type topComment struct {
	start, end int
	kind       chunkKind
}

// topComments finds the comments between the cell's chunks and gives each
// the kind of the chunk whose line it ends (x := 1 // note), else of the
// chunk after it (a doc comment), else of the last chunk.
func (g *generator) topComments() []topComment {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(g.body))
	var s scanner.Scanner
	s.Init(file, []byte(g.body), func(token.Position, string) {}, scanner.ScanComments)
	var out []topComment
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		if t != token.COMMENT {
			continue
		}
		off := file.Offset(pos)
		prev, next := -1, -1
		inside := false
		for i, c := range g.chunks {
			if off >= c.start && off < c.end {
				inside = true
				break
			}
			if c.end <= off {
				prev = i
			} else if next < 0 {
				next = i
			}
		}
		if inside || (prev < 0 && next < 0) {
			continue
		}
		var kind chunkKind
		switch {
		case prev >= 0 && !strings.Contains(g.body[g.chunks[prev].end:off], "\n"):
			kind = g.chunks[prev].kind
		case next >= 0:
			kind = g.chunks[next].kind
		default:
			kind = g.chunks[prev].kind
		}
		out = append(out, topComment{start: off, end: off + len(lit), kind: kind})
	}
	return out
}

// directive is a //line directive naming line of the given cell (-1: the
// %mpirun cell) for the line that follows it. Line 0 (an import added by
// the interpreter) gets no directive, and an exported program none at all.
func (g *generator) directive(cell, line int) string {
	if line <= 0 || g.opts.export {
		return ""
	}
	name := CellFile
	if cell >= 0 {
		name = "cell[" + strconv.Itoa(cell) + "]"
	}
	return fmt.Sprintf("//line %s:%d:1\n", name, line)
}

// lineComment is an inline /*line*/ directive restoring the position of at
// for the text that follows an insertion there.
func lineComment(fset *token.FileSet, at token.Pos) string {
	p := fset.Position(at)
	if p.Filename == "" || p.Filename == "main.go" {
		return ""
	}
	return fmt.Sprintf("/*line %s:%d:%d*/", p.Filename, p.Line, p.Column)
}

// blankBytes replaces every byte but newlines with a space.
func blankBytes(b []byte) {
	for i, c := range b {
		if c != '\n' {
			b[i] = ' '
		}
	}
}

// lineCol returns the 1-based line and column of byte offset off of s.
func lineCol(s string, off int) (line, col int) {
	line = 1 + strings.Count(s[:off], "\n")
	return line, off - strings.LastIndexByte(s[:off], '\n')
}

// syntaxError turns a parse error into a CompileError.
func syntaxError(fset *token.FileSet, err error) error {
	var list scanner.ErrorList
	if !errors.As(err, &list) {
		return &CompileError{Lines: []string{err.Error()}}
	}
	list.RemoveMultiples()
	var lines []string
	for i, e := range list {
		if i == 10 {
			lines = append(lines, fmt.Sprintf("too many errors (%d more)", len(list)-i))
			break
		}
		lines = append(lines, fmt.Sprintf("%s:%d:%d: %s", e.Pos.Filename, e.Pos.Line, e.Pos.Column, e.Msg))
	}
	return &CompileError{Lines: lines}
}

// importName is the name an import binds.
func importName(s *ast.ImportSpec) string {
	if s.Name != nil {
		return s.Name.Name
	}
	p, _ := strconv.Unquote(s.Path.Value)
	return pathName(p)
}

// pathName guesses a package's name from its import path: the last element
// that is not a major version (math/rand/v2 is rand).
func pathName(p string) string {
	parts := strings.Split(p, "/")
	for i := len(parts) - 1; i > 0; i-- {
		if v := parts[i]; len(v) < 2 || v[0] != 'v' || strings.Trim(v[1:], "0123456789") != "" {
			return v
		}
	}
	return parts[0]
}

// declaredNames returns what a parsed file declares at package level: func
// and type names, constants, variables, methods as "T.M", and the names its
// imports bind.
func declaredNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil && len(d.Recv.List) > 0 {
				names[goeval.ReceiverType(d.Recv.List[0].Type)+"."+d.Name.Name] = true
			} else {
				names[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ImportSpec:
					names[importName(s)] = true
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names
}

// unresolvedNames returns the identifiers a file uses without declaring
// them: package names, predeclared names, and names declared elsewhere.
func unresolvedNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, id := range f.Unresolved {
		names[id.Name] = true
	}
	return names
}

// selectDecls picks the earlier declarations a cell needs: those defining a
// name in need (and not declared by the cell itself), the declarations they
// need in turn, and the methods of every type picked. It returns them in
// their original order, with the imports (by name) they and the cell use.
func selectDecls(decls []goeval.Decl, cellDeclares, need map[string]bool) (picked, imports []goeval.Decl) {
	byName := map[string]int{}
	methods := map[string][]int{}
	for i, d := range decls {
		if d.Kind == "func" && strings.Contains(d.Name, ".") {
			t, _, _ := strings.Cut(d.Name, ".")
			methods[t] = append(methods[t], i)
			continue
		}
		names := d.Names
		if len(names) == 0 {
			names = []string{d.Name}
		}
		for _, n := range names {
			if n != "_" && n != "." {
				byName[n] = i // the store holds the latest definition of each name
			}
		}
	}
	chosen := map[int]bool{}
	var queue []string
	for n := range need {
		queue = append(queue, n)
	}
	sort.Strings(queue)
	seen := map[string]bool{}
	pick := func(i int) {
		if chosen[i] {
			return
		}
		chosen[i] = true
		d := decls[i]
		if d.Kind == "import" {
			return
		}
		queue = append(queue, declRefs(d.Src)...)
		if d.Kind == "type" {
			for _, m := range methods[d.Name] {
				if !cellDeclares[decls[m].Name] {
					queue = append(queue, "\x00"+strconv.Itoa(m))
				}
			}
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		if strings.HasPrefix(n, "\x00") {
			m, _ := strconv.Atoi(n[1:])
			pick(m)
			continue
		}
		if cellDeclares[n] || n == "main" || n == MPIAlias {
			continue
		}
		if i, ok := byName[n]; ok {
			pick(i)
		}
	}
	for i, d := range decls {
		if !chosen[i] {
			continue
		}
		if d.Kind == "import" {
			imports = append(imports, d)
		} else {
			picked = append(picked, d)
		}
	}
	return picked, imports
}

// declRefs returns the names a declaration's source uses without declaring.
func declRefs(src string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+src, 0)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(f.Unresolved))
	for _, id := range f.Unresolved {
		names = append(names, id.Name)
	}
	// A method's receiver type is declared elsewhere too.
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && len(fd.Recv.List) > 0 {
			names = append(names, goeval.ReceiverType(fd.Recv.List[0].Type))
		}
	}
	return names
}

// compiledOnlyStd maps the names of the standard packages the interpreter
// does not know (so goeval.MissingImports cannot add them), but compiled
// programs may use, to their paths.
func compiledOnlyStd() map[string]string {
	return map[string]string{
		"syscall": "syscall", "unsafe": "unsafe", "exec": "os/exec", "iter": "iter", "unique": "unique",
		"weak": "weak", "structs": "structs", "sha3": "crypto/sha3", "hkdf": "crypto/hkdf", "pbkdf2": "crypto/pbkdf2",
	}
}

// compiledOnlyImports returns the paths of the compiledOnlyStd packages src
// uses (an unresolved name followed by a selector) and neither imports nor
// gets from added.
func compiledOnlyImports(src string, added []string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
	if err != nil {
		return nil
	}
	have := declaredNames(f)
	for _, p := range added {
		have[pathName(p)] = true
	}
	unresolved := map[*ast.Ident]bool{}
	for _, id := range f.Unresolved {
		unresolved[id] = true
	}
	std := compiledOnlyStd()
	var paths []string
	ast.Inspect(f, func(n ast.Node) bool {
		se, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := se.X.(*ast.Ident)
		if !ok || !unresolved[x] || have[x.Name] || std[x.Name] == "" {
			return true
		}
		have[x.Name] = true
		paths = append(paths, std[x.Name])
		return true
	})
	sort.Strings(paths)
	return paths
}

// ExportedNames lists the exported top-level names of the package in dir.
func ExportedNames(files map[string][]byte, dir string) []string {
	set := map[string]bool{}
	fset := token.NewFileSet()
	for p, b := range files {
		if path.Dir(p) != dir || path.Ext(p) != ".go" {
			continue
		}
		f, err := parser.ParseFile(fset, p, b, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for name := range declaredNames(f) {
			if !strings.Contains(name, ".") && ast.IsExported(name) {
				set[name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

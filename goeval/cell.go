package goeval

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strconv"
	"strings"
)

// srcName is the file name of every source given to the interpreter. Line
// directives name the cell as "cell[N]/_.go": yaegi keys imports by the base
// name of a node's file, which must be the same for every cell; messages are
// cleaned back to "cell[N]".
const srcName = "_.go"

// Prefixes that make a group a Go file.
const (
	declPrefix = "package main;\n"
	stmtPrefix = "package main; func main() {"
)

// directive returns the line directive that makes what follows it cell
// cellNo's line:col.
func directive(cellNo, line, col int) string {
	return fmt.Sprintf("/*line cell[%d]/%s:%d:%d*/", cellNo, srcName, line, col)
}

// parseGroup parses the chunks of group g of a cell as a Go file, the
// other chunks blanked out so positions are the cell's; statements are the
// body of a wrapper func main. It returns nil, nil for an empty group.
func parseGroup(fset *token.FileSet, src string, chunks []chunk, g group, cellNo int) (*ast.File, error) {
	masked, ok := mask(src, chunks, g)
	if !ok {
		return nil, nil
	}
	var text string
	if g == groupStmt {
		text = stmtPrefix + directive(cellNo, 1, 1) + masked + "\n}"
	} else {
		text = declPrefix + directive(cellNo, 1, 1) + masked
	}
	f, err := parser.ParseFile(fset, srcName, text, parser.ParseComments|parser.DeclarationErrors)
	if err != nil {
		// An error at the closing brace of the wrapper is at the end of the
		// cell for the user.
		if list, ok := err.(scanner.ErrorList); ok && len(list) > 0 && g == groupStmt {
			prefix := len(stmtPrefix) + len(directive(cellNo, 1, 1))
			if e := list[0]; e.Pos.Offset >= prefix+len(masked) {
				end := strings.TrimRight(src, " \t\n")
				line := 1 + strings.Count(end, "\n")
				col := len(end) - strings.LastIndexByte(end, '\n')
				e.Pos = token.Position{Filename: fmt.Sprintf("cell[%d]/%s", cellNo, srcName), Line: line, Column: col}
				e.Msg = strings.Replace(e.Msg, "found '}'", "found 'EOF'", 1)
				list[0] = e
			}
		}
		return nil, err
	}
	return f, nil
}

// wrapperBody returns the body of the wrapper func main of a statement group.
func wrapperBody(f *ast.File) *ast.BlockStmt {
	return f.Decls[0].(*ast.FuncDecl).Body
}

// firstToken returns the first token of src, comments skipped.
func firstToken(src string) token.Token {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", fset.Base(), len(src)), []byte(src), nil, 0)
	_, t, _ := s.Scan()
	return t
}

// cellCode is a cell split, parsed and analysed.
type cellCode struct {
	no      int
	src     string
	chunks  []chunk
	imports []importSpec
	decls   []declInfo
	// declared maps the names the cell declares at top level to their kind:
	// "import", "const", "type", "var", "func" or "define" (x := ...).
	declared map[string]string
	defines  []string // variables defined by top-level statements
	hasMain  bool     // the cell declares func main
	final    ast.Expr // the final bare expression, or nil
	finalSrc string   // its source text
	// generics are the signatures of the generic functions it declares.
	generics map[string]*ast.FuncType
	// typed holds the facts of the cell's type check, once done (see
	// lowerTyped).
	typed *typedFacts

	// Groups parsed in the file set of the interpreter current at analysis.
	importFile, declFile, stmtFile *ast.File
}

// importSpec is one import of a cell.
type importSpec struct {
	name, path string // name: the name it binds ("_" and "." included)
	explicit   bool   // the name was written
	line, col  int    // 0 for an import added automatically
	fromCell   int    // the cell it comes from, when not the current one
}

// src returns the import as a declaration.
func (s importSpec) src() string {
	if s.explicit {
		return "import " + s.name + " " + strconv.Quote(s.path)
	}
	return "import " + strconv.Quote(s.path)
}

// key returns the key of the import in the declaration store.
func (s importSpec) key() string {
	if s.name == "_" || s.name == "." {
		return "import " + s.name + " " + s.path
	}
	return "import " + s.name
}

// declInfo is one top-level declaration of a cell, as stored.
type declInfo struct {
	kind  string   // const, type, var, func
	key   string   // store key: the name, or "T.M" for a method
	names []string // the names it declares (a const group may declare several)
	src   string   // source text, doc comment included
	line  int      // cell line where src starts
	off   int      // cell byte offset of the declaration
	stmt  bool     // a var evaluated with the statements
	out   int      // number of results of a func
}

// analyzeCell splits and parses a cell with fset and analyses it. isVar
// reports the variables of the session: a var declaration whose value uses
// one, or a variable a statement of the cell defines, is evaluated with the
// statements (yaegi initializes a package-level var from a variable of an
// earlier evaluation to its zero value); it is still a declaration for the
// store.
func analyzeCell(fset *token.FileSet, cellNo int, src string, isVar func(string) bool) (*cellCode, error) {
	if _, errs := scanTokens(src); len(errs) > 0 {
		e := errs[0]
		return nil, newSyntaxError(fmt.Sprintf("cell[%d]:%d:%d: %s", cellNo, e.Pos.Line, e.Pos.Column, e.Msg), e.Pos.Line, e.Pos.Column)
	}
	c := &cellCode{no: cellNo, src: src, chunks: splitCell(src), declared: map[string]string{}, generics: map[string]*ast.FuncType{}}
	varChunks(c.chunks, src, isVar)
	var err error
	if c.importFile, err = parseGroup(fset, src, c.chunks, groupImport, cellNo); err != nil {
		return nil, syntaxError(cellNo, err)
	}
	if c.declFile, err = parseGroup(fset, src, c.chunks, groupDecl, cellNo); err != nil {
		return nil, syntaxError(cellNo, err)
	}
	if c.stmtFile, err = parseGroup(fset, src, c.chunks, groupStmt, cellNo); err != nil {
		return nil, syntaxError(cellNo, err)
	}
	if c.importFile != nil {
		for _, imp := range c.importFile.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			pos := fset.Position(imp.Pos())
			spec := importSpec{name: importName(imp), path: p, explicit: imp.Name != nil, line: pos.Line, col: pos.Column}
			c.imports = append(c.imports, spec)
			c.declared[spec.name] = "import"
		}
	}
	if c.declFile != nil {
		off := len(declPrefix) + len(directive(cellNo, 1, 1))
		text := func(from, to token.Pos) (string, int) {
			a, b := fset.File(from).Offset(from)-off, fset.File(to).Offset(to)-off
			return src[a:b], 1 + strings.Count(src[:a], "\n")
		}
		for _, d := range c.declFile.Decls {
			n := len(c.decls)
			c.addDecl(d, text)
			for i := n; i < len(c.decls); i++ {
				c.decls[i].off = fset.File(d.Pos()).Offset(d.Pos()) - off
			}
		}
	}
	if c.stmtFile != nil {
		body := wrapperBody(c.stmtFile)
		off := len(stmtPrefix) + len(directive(cellNo, 1, 1))
		text := func(from, to token.Pos) (string, int) {
			a, b := fset.File(from).Offset(from)-off, fset.File(to).Offset(to)-off
			return src[a:b], 1 + strings.Count(src[:a], "\n")
		}
		for _, st := range body.List {
			if ds, ok := st.(*ast.DeclStmt); ok {
				n := len(c.decls)
				c.addDecl(ds.Decl, text)
				for i := n; i < len(c.decls); i++ {
					c.decls[i].off = fset.File(ds.Pos()).Offset(ds.Pos()) - off
					c.decls[i].stmt = true
				}
			}
		}
		c.defines = definedNames(body.List)
		for _, n := range c.defines {
			if _, ok := c.declared[n]; !ok {
				c.declared[n] = "define"
			}
		}
		last := c.chunks[len(c.chunks)-1]
		if n := len(body.List); n > 0 && last.group == groupStmt {
			if es, ok := body.List[n-1].(*ast.ExprStmt); ok {
				c.final = es.X
				off := len(stmtPrefix) + len(directive(cellNo, 1, 1))
				a, b := fset.File(es.Pos()).Offset(es.Pos())-off, fset.File(es.End()).Offset(es.End())-off
				c.finalSrc = src[a:b]
			}
		}
	}
	return c, nil
}

// varChunks moves to the statements the var declarations that use a
// variable of the session or one a statement of the cell defines.
func varChunks(chunks []chunk, src string, isVar func(string) bool) {
	if isVar == nil {
		return
	}
	vars := map[string]bool{}
	// Names defined by statements: IDENT {, IDENT} := at the start of a chunk.
	for _, c := range chunks {
		if c.group != groupStmt {
			continue
		}
		ts, _ := scanTokens(src[c.tokStart:c.end])
		var names []string
		for i := 0; i < len(ts); i += 2 {
			if ts[i].tok != token.IDENT {
				break
			}
			names = append(names, ts[i].lit)
			if i+1 < len(ts) && ts[i+1].tok == token.DEFINE {
				for _, n := range names {
					vars[n] = true
				}
				break
			}
			if i+1 >= len(ts) || ts[i+1].tok != token.COMMA {
				break
			}
		}
	}
	for i := range chunks {
		c := &chunks[i]
		if c.group != groupDecl || !strings.HasPrefix(src[c.tokStart:], "var") {
			continue
		}
		refs := identRefs(src[c.tokStart:c.end])
		uses := false
		for r := range refs {
			if vars[r] || isVar(r) {
				uses = true
			}
		}
		if !uses {
			continue
		}
		c.group = groupStmt
		ts, _ := scanTokens(src[c.tokStart:c.end])
		for j := 1; j < len(ts); j++ {
			if ts[j].tok == token.IDENT && (ts[j-1].tok == token.VAR || ts[j-1].tok == token.COMMA || ts[j-1].tok == token.LPAREN || ts[j-1].tok == token.SEMICOLON) {
				vars[ts[j].lit] = true
			}
		}
	}
}

// addDecl records a top-level declaration; text returns the cell text
// between two positions and its line.
func (c *cellCode) addDecl(d ast.Decl, text func(from, to token.Pos) (string, int)) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		from := docStart(d.Doc, d.Pos())
		s, line := text(from, d.End())
		name := d.Name.Name
		key := name
		if d.Recv != nil && len(d.Recv.List) > 0 {
			key = ReceiverType(d.Recv.List[0].Type) + "." + name
		} else {
			if name == "main" {
				c.hasMain = true
				return // run once, not kept: see Session.Eval
			}
			c.declared[name] = "func"
			if d.Type.TypeParams != nil {
				c.generics[name] = d.Type
			}
		}
		if name == "_" {
			key = "_ " + s
		}
		names := []string{name}
		if d.Recv != nil {
			names = []string{key}
		}
		c.decls = append(c.decls, declInfo{kind: "func", key: key, names: names, src: s, line: line, out: d.Type.Results.NumFields()})
	case *ast.GenDecl:
		kind := strings.ToLower(d.Tok.String())
		if d.Tok == token.IMPORT {
			return
		}
		// A const group stays whole (iota, implicit repetition); the specs
		// of other groups are stored one by one.
		if d.Tok == token.CONST || !d.Lparen.IsValid() {
			from := docStart(d.Doc, d.Pos())
			s, line := text(from, d.End())
			var names []string
			for _, sp := range d.Specs {
				names = append(names, specNames(sp)...)
			}
			c.addGen(kind, names, s, line)
			return
		}
		for _, sp := range d.Specs {
			from := docStart(specDoc(sp), sp.Pos())
			s, line := text(from, sp.End())
			c.addGen(kind, specNames(sp), kind+" "+s, line)
		}
	}
}

// addGen records a const, type or var declaration.
func (c *cellCode) addGen(kind string, names []string, src string, line int) {
	if len(names) == 0 {
		return
	}
	key := names[0]
	if key == "_" {
		key = "_ " + src
	}
	for _, n := range names {
		if n != "_" {
			c.declared[n] = kind
		}
	}
	c.decls = append(c.decls, declInfo{kind: kind, key: key, names: names, src: src, line: line, out: -1})
}

// docStart returns where a declaration starts with its doc comment: the
// first comment of doc that is not a line directive, or pos.
func docStart(doc *ast.CommentGroup, pos token.Pos) token.Pos {
	if doc == nil {
		return pos
	}
	for _, c := range doc.List {
		if !strings.HasPrefix(c.Text, "/*line ") && !strings.HasPrefix(c.Text, "//line ") {
			return c.Pos()
		}
	}
	return pos
}

// specNames returns the names a type or value spec declares.
func specNames(sp ast.Spec) []string {
	switch sp := sp.(type) {
	case *ast.TypeSpec:
		return []string{sp.Name.Name}
	case *ast.ValueSpec:
		var names []string
		for _, n := range sp.Names {
			names = append(names, n.Name)
		}
		return names
	}
	return nil
}

// specDoc returns the doc comment of a spec.
func specDoc(sp ast.Spec) *ast.CommentGroup {
	switch sp := sp.(type) {
	case *ast.TypeSpec:
		return sp.Doc
	case *ast.ValueSpec:
		return sp.Doc
	}
	return nil
}

// ReceiverType returns the base type name of a method receiver: T for T,
// *T, T[K] or (*T); "" for anything else. The declaration store names a
// method "T.M" after it, and so does %mpirun's program generation.
func ReceiverType(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// syntaxError converts a parse error into a cell error.
func syntaxError(cellNo int, err error) *Error {
	if list, ok := err.(scanner.ErrorList); ok && len(list) > 0 {
		e := list[0]
		msg := fmt.Sprintf("%s:%d:%d: %s", cleanFile(e.Pos.Filename, cellNo), e.Pos.Line, e.Pos.Column, e.Msg)
		out := newSyntaxError(msg, 0, 0)
		if cleanFile(e.Pos.Filename, cellNo) == fmt.Sprintf("cell[%d]", cellNo) {
			out.Line, out.Col = e.Pos.Line, e.Pos.Column
		}
		return out
	}
	return newSyntaxError(cleanPositions(err.Error()), 0, 0)
}

// cleanFile turns an interpreter file name into a cell name.
func cleanFile(name string, cellNo int) string {
	if name == srcName || name == "" {
		return fmt.Sprintf("cell[%d]", cellNo)
	}
	return strings.TrimSuffix(name, "/"+srcName)
}

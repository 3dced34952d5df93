package goeval

// Type-directed lowering. yaegi v0.16 cannot compile two things that Go
// programs do all the time, and both need types to rewrite:
//
//   - range over a function (Go 1.23 iterators): yaegi fails with an
//     internal error. The loop becomes a call of the iterator with a
//     function literal whose parameters are the loop variables (see
//     typed_range.go); their types come from go/types.
//   - calls of generic functions whose type arguments are inferred from a
//     function literal (yaegi unifies the literal's type with the wrong
//     type parameters), through a constraint (S ~[]E: "undefined type for
//     E") or from untyped constants: the call gets the type arguments
//     go/types inferred, written out (see typed_infer.go).
//
// lowerTyped first scans the code for those forms without types (see
// typed_scan.go): ordinary code costs one walk of its syntax tree. Code
// that has one is type-checked, with the session around it (its imports,
// stored declarations and variables: see typed_check.go), and the facts the
// rewrites need are recorded by position in the cell, so that they apply to
// every syntax tree compiled from the same source (the cell's groups, the
// declarations a rebuild replays, a function compiled again). When the
// check fails, nothing is rewritten: the code compiles as it did before.

import (
	"go/ast"
	"go/token"
	"go/types"
)

// posKey is a position in a cell: line directives make it the same in the
// type-checked source and in every syntax tree the interpreter compiles.
type posKey struct {
	file      string // "cell[N]/_.go"
	line, col int
}

// keyOf returns the cell position of pos.
func keyOf(fset *token.FileSet, pos token.Pos) posKey {
	p := fset.Position(pos)
	return posKey{p.Filename, p.Line, p.Column}
}

// typedFacts is what the type check of a cell tells the rewrites.
type typedFacts struct {
	ranges map[posKey]rangeFact // range statements over functions, by "for"
	// ints are the operands of range statements over integers, by where
	// they start: rewriteRangeInt lowers them even when the operand's
	// type is not visible in the source (a call, a field, a named type).
	ints map[posKey]bool
	// strs are the range statements over strings with a key only, by
	// "for": yaegi gives such a key the rune's number instead of its byte
	// offset, so the rewrite adds a blank value (for pos, _ := range s).
	strs  map[posKey]bool
	insts map[posKey]instFact // generic function uses, by name
	fmts  map[posKey]fmtFact  // print calls, by "(" (see typed_fmt.go)
	// mexprs are the method expressions of session types, by start.
	mexprs map[posKey]methodExprFact
	// bounds are the index and slice expressions that check their bounds
	// first, by "[" (see semantics_runtime.go).
	bounds map[posKey]boundsFact
	// asserts are the refused types of type assertions and cases, by
	// start (see typeswitch_bind.go).
	asserts map[posKey]string
	// final is a function that prints the value of the cell's final
	// expression through its view, when the kernel shows the value and it
	// needs one (see collectFinal); finalAt is where the expression starts.
	final   string
	finalAt posKey
	// bools are the values of the comparisons and logical operations of
	// constant declarations, by operator (see typed_consts.go).
	bools map[posKey]bool
	// errs are the calls of package errors, by "(", boxes the values of
	// the session's types converted to error, by where they start (see
	// typed_errors.go).
	errs  map[posKey]errFact
	boxes map[posKey]boxFact
	// defs are the types of the variables that the cell's top-level
	// statements define, for the checks of later cells.
	defs     map[string]varRecord
	defTypes map[string]types.Type // the same, as types
	// failed says why the check could not run (nil when it ran; a
	// declaration with an error gives no facts).
	failed error
	sem    semanticFacts // for the rewrites of semantics_*.go
}

// rangeFact describes a range statement over a function.
type rangeFact struct {
	x      posKey   // where its operand starts: a guard against stale facts
	params []string // the yield function's parameter types, as Go source
	err    error    // why they cannot be written at the loop, if so
}

// instFact gives the type arguments of a use of a generic function.
type instFact struct {
	name  string   // the function's name: a guard against stale facts
	targs []string // all its type arguments, as Go source
	// resultGeneric tells that a result type of the generic function
	// depends on its type parameters.
	resultGeneric bool
}

// lowerTyped applies the type-directed rewrites to root, a statement group's
// body (the top level of a cell) or a file of declarations. c is the cell
// being evaluated (nil when a stored function is compiled again). It
// returns an error only for a construct that cannot be lowered correctly.
func (s *Session) lowerTyped(fset *token.FileSet, root ast.Node, c *cellCode) error {
	if !mayNeed(root) && (c == nil || c.final == nil) {
		return nil
	}
	sc := s.newTypedScan(c)
	if !sc.needs(root) {
		return nil
	}
	facts := s.cellFacts(c, sc)
	if len(facts.ranges) == 0 && len(facts.insts) == 0 && len(facts.fmts) == 0 && len(facts.mexprs) == 0 && len(facts.bounds) == 0 && len(facts.asserts) == 0 && len(facts.sem.boxAsserts) == 0 &&
		len(facts.bools) == 0 && len(facts.errs) == 0 && len(facts.boxes) == 0 {
		return nil
	}
	_, top := root.(*ast.BlockStmt)
	l := &lowering{fset: fset, facts: facts, kind: sc.kind, sig: sc.sig, root: root, top: top, cellNo: cellNumber(c)}
	return l.apply()
}

// cellNumber returns the number of a cell, 0 for none.
func cellNumber(c *cellCode) int {
	if c == nil {
		return 0
	}
	return c.no
}

// cellFacts returns the facts of the type check of c and the session (of
// the session alone when c is nil), checking once per cell.
func (s *Session) cellFacts(c *cellCode, sc *typedScan) *typedFacts {
	if c != nil && c.typed != nil {
		return c.typed
	}
	f := s.typeCheck(c, sc)
	if c != nil {
		c.typed = f
	}
	return f
}

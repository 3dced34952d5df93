package goeval

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sync"
)

// semanticFacts are what the type check tells the rewrites of
// semantics_*.go, which correct yaegi v0.16 where it silently computes
// something else than Go.
type semanticFacts struct {
	// strRanges are the range statements over strings with a key, by
	// "for" (see rewriteStringRanges).
	strRanges map[posKey]bool
	// typeSwitches are the type switches rewriteTypeSwitches lowers, by
	// "switch".
	typeSwitches map[posKey]*typeSwitchFact
	// nilConvs are the conversions rewriteNilConvs checks, by where their
	// operand starts.
	nilConvs map[posKey]nilConvFact
	// caseSwitches are the type switches with a case of a session type
	// that rewriteTypeSwitchCases changes, by "switch".
	// Each holds the cases that look inside a box of an error, by where
	// their type starts.
	caseSwitches map[posKey]map[posKey]boxCase
	// boxAsserts are the type assertions that look inside a box of an
	// error, by "(" (see assertViaBox).
	boxAsserts map[posKey]boxCase
}

// semanticFacts returns the facts of the type check for the rewrites of
// root: the cell's (nil when its check did not run or failed), or, for a
// stored function compiled again (c is nil), those of a check of the
// stored declarations when root has something they are for (checked once
// for the rewrites of the same root).
func (s *Session) semanticFacts(root ast.Node, c *cellCode) *semanticFacts {
	if c != nil {
		if c.typed == nil || c.typed.failed != nil {
			return nil
		}
		return &c.typed.sem
	}
	lastStored.Lock()
	defer lastStored.Unlock()
	if lastStored.root == root {
		return lastStored.facts
	}
	var facts *semanticFacts
	if sc := s.newTypedScan(nil); mayNeed(root) && semanticNeeds(root, sc) {
		if f := s.typeCheck(nil, sc); f.failed == nil {
			facts = &f.sem
		}
	}
	lastStored.root, lastStored.facts = root, facts
	return facts
}

// lastStored is the last check of semanticFacts for stored code.
var lastStored struct {
	sync.Mutex
	root  ast.Node
	facts *semanticFacts
}

// semanticNeeds reports whether n holds a form that the rewrites of
// semantics_*.go need the type check for: a range with a key over what may
// be a string, a type switch that may have a case of an interface type of
// a compiled package, or both the name of a type that has methods and a
// type that may be an interface of a compiled package (error, a qualified
// name) in a declaration or a literal, or a conversion to error (see
// rewriteNilConvs).
func semanticNeeds(n ast.Node, sc *typedScan) bool {
	found, methodType, ifaceType := false, false, false
	mtypes := sc.methodTypes()
	ast.Inspect(n, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.RangeStmt:
			found = namedKey(x.Key) && sc.mayBeStringRange(x.X, 0)
		case *ast.TypeSwitchStmt:
			found = mayHaveInterfaceCase(x) || sc.mayAssertSessionType(x)
		case *ast.Ident:
			methodType = methodType || mtypes[x.Name]
		case *ast.Field:
			ifaceType = ifaceType || mayNameInterface(x.Type)
		case *ast.ValueSpec:
			ifaceType = ifaceType || mayNameInterface(x.Type)
		case *ast.CompositeLit:
			ifaceType = ifaceType || mayNameInterface(x.Type)
		case *ast.CallExpr:
			id, ok := x.Fun.(*ast.Ident)
			ifaceType = ifaceType || ok && id.Name == "error" // a conversion
		}
		found = found || methodType && ifaceType
		return !found
	})
	return found
}

// mayNameInterface reports whether a type expression may name an
// interface of a compiled package, or have one as a component: it uses
// error or a qualified name.
func mayNameInterface(t ast.Expr) bool {
	found := false
	if t == nil {
		return false
	}
	ast.Inspect(t, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.Ident:
			found = found || x.Name == "error"
		case *ast.SelectorExpr:
			found = true
		case *ast.FuncLit, *ast.BlockStmt:
			return false
		}
		return !found
	})
	return found
}

// collectSemantics records the facts of d, a declaration without errors.
func (ck *check) collectSemantics(d ast.Decl, facts *typedFacts) {
	f := &facts.sem
	ck.collectNilConvs(d, f)
	ast.Inspect(d, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.RangeStmt:
			if !namedKey(x.Key) {
				break
			}
			if tv, ok := ck.info.Types[x.X]; ok && tv.Type != nil {
				if b, ok := tv.Type.Underlying().(*types.Basic); ok && b.Info()&types.IsString != 0 {
					if f.strRanges == nil {
						f.strRanges = map[posKey]bool{}
					}
					f.strRanges[keyOf(ck.fset, x.For)] = true
				}
			}
		case *ast.TypeSwitchStmt:
			if fact := ck.typeSwitchFact(x); fact != nil {
				if f.typeSwitches == nil {
					f.typeSwitches = map[posKey]*typeSwitchFact{}
				}
				f.typeSwitches[keyOf(ck.fset, x.Switch)] = fact
			}
		}
		return true
	})
}

// namedKey reports whether a range key is there and not blank.
func namedKey(k ast.Expr) bool {
	if k == nil {
		return false
	}
	id, ok := k.(*ast.Ident)
	return !ok || id.Name != "_"
}

// posName returns a name made of prefix and a position, unique in a
// session: the rewrites' temporaries at the top level of a cell are
// variables of yaegi's global scope, where a define in an inner block
// reuses a variable of the same name.
func posName(fset *token.FileSet, prefix string, pos token.Pos) string {
	k := keyOf(fset, pos)
	no := 0
	fmt.Sscanf(k.file, "cell[%d]", &no)
	return fmt.Sprintf("%s%d_%d_%d", prefix, no, k.line, k.col)
}

package goeval

// Runtime errors as a program that recovers them sees them. yaegi indexes
// and slices through package reflect, so an index out of range panics
// with reflect's message ("reflect: slice index out of range"), a field of
// a nil pointer with a *reflect.ValueError, and a failed type assertion
// carries the cell position ("cell[3]/_.go:4:5: interface conversion:
// ..."). The message shows only where the program recovers the panic and
// looks at it, so in a session that calls recover():
//
//   - the index and slice expressions on slices, arrays and strings whose
//     operands have no effects check their bounds first, with the
//     runtime's error and message ("runtime error: index out of range [5]
//     with length 3");
//   - recover() returns the runtime's error for a nil dereference and the
//     type assertion's message without the position.

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"regexp"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// runtimeError is an error of the Go runtime (runtime.Error): its message
// is the runtime's.
type runtimeError struct{ msg string }

// Error implements error.
func (e *runtimeError) Error() string { return "runtime error: " + e.msg }

// RuntimeError marks it as a runtime.Error.
func (e *runtimeError) RuntimeError() {}

// checkIndex returns i, or panics as the runtime does when it is out of
// the range of a length n.
func checkIndex(i, n int) int {
	if i < 0 || i >= n {
		panic(&runtimeError{fmt.Sprintf("index out of range [%d] with length %d", i, n)})
	}
	return i
}

// checkSlice returns hi, or panics as the runtime does when s[lo:hi] is
// out of range, n being the capacity (what is "length" for a string or an
// array, which says).
func checkSlice(lo, hi, n int, what string) int {
	switch {
	case hi < 0 || hi > n:
		panic(&runtimeError{fmt.Sprintf("slice bounds out of range [:%d] with %s %d", hi, what, n)})
	case lo < 0 || lo > hi:
		panic(&runtimeError{fmt.Sprintf("slice bounds out of range [%d:%d]", lo, hi)})
	}
	return hi
}

// assertPos is the cell position yaegi puts before a type assertion's
// message.
var assertPos = regexp.MustCompile(`^cell\[\d+\]/[^:]*:\d+:\d+: (interface conversion: .*)$`)

// assertionError is a failed type assertion (runtime.TypeAssertionError's
// message, the runtime.Error interface).
type assertionError struct{ msg string }

// Error implements error.
func (e *assertionError) Error() string { return e.msg }

// RuntimeError marks it as a runtime.Error.
func (e *assertionError) RuntimeError() {}

// recovered returns what recover() returns in compiled Go for a panic
// value of yaegi's (see the file's comment); others are returned as they
// are.
func recovered(v any) any {
	var ve *reflect.ValueError
	if err, ok := v.(error); ok && errors.As(err, &ve) && strings.HasSuffix(err.Error(), "on zero Value") {
		return &runtimeError{"invalid memory address or nil pointer dereference"}
	}
	if err, ok := v.(error); ok {
		if m := assertPos.FindStringSubmatch(err.Error()); m != nil {
			return &assertionError{m[1]}
		}
	}
	return v
}

// boundsFact is the check of an index or slice expression.
type boundsFact struct {
	length string // "len" or "cap"
	what   string // "length" or "capacity", for a slice expression
}

// recovers reports whether n has index or slice expressions in a session
// that calls recover (then they need the type check, see collectBounds).
func (sc *typedScan) recovers(n ast.Node) bool {
	if !sc.s.callsRecover(sc.c) {
		return false
	}
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		switch m.(type) {
		case *ast.IndexExpr, *ast.SliceExpr:
			found = true
		}
		return !found
	})
	return found
}

// callsRecover reports whether the cell c (nil: none) or a declaration of
// the session calls recover.
func (s *Session) callsRecover(c *cellCode) bool {
	if c != nil && strings.Contains(c.src, "recover()") {
		return true
	}
	for _, e := range s.store.list() {
		if strings.Contains(e.Src, "recover()") {
			return true
		}
	}
	return false
}

// collectBounds records the checks of the index and slice expressions of
// d, in a cell that calls recover.
func (ck *check) collectBounds(d ast.Decl, facts *typedFacts) {
	if !ck.s.callsRecover(ck.c) {
		return
	}
	ast.Inspect(d, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.IndexExpr:
			if f, ok := ck.boundsOf(x.X, false); ok && pureOperand(x.Index) && ck.info.Types[x.Index].Value == nil {
				facts.bounds[keyOf(ck.fset, x.Lbrack)] = f
			}
		case *ast.SliceExpr:
			if f, ok := ck.boundsOf(x.X, true); ok && !x.Slice3 && x.High != nil && (x.Low == nil || pureOperand(x.Low)) && pureOperand(x.High) {
				facts.bounds[keyOf(ck.fset, x.Lbrack)] = f
			}
		}
		return true
	})
}

// boundsOf returns the check of an index (or slice) expression on x: a
// slice, an array or a pointer to one, or a string, that names a variable
// (evaluating it again has no effect).
func (ck *check) boundsOf(x ast.Expr, slice bool) (boundsFact, bool) {
	if !pureOperand(x) {
		return boundsFact{}, false
	}
	tv, ok := ck.info.Types[x]
	if !ok || tv.Type == nil {
		return boundsFact{}, false
	}
	u := tv.Type.Underlying()
	if p, ok := u.(*types.Pointer); ok {
		u = p.Elem().Underlying()
	}
	switch u := u.(type) {
	case *types.Slice:
		return boundsFact{"cap", "capacity"}, true
	case *types.Array:
		return boundsFact{"len", "length"}, true
	case *types.Basic:
		if u.Info()&types.IsString != 0 {
			return boundsFact{"len", "length"}, true
		}
	}
	return boundsFact{}, false
}

// pureOperand reports whether e can be evaluated again without effect: a
// name, a literal, a field of one.
func pureOperand(e ast.Expr) bool {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident, *ast.BasicLit:
		return true
	case *ast.SelectorExpr:
		return pureOperand(x.X)
	}
	return false
}

// checkBounds returns a copy of an index or slice expression that checks
// its bounds first (see collectBounds), or nil.
func (l *lowering) checkBounds(n ast.Node) ast.Node {
	switch x := n.(type) {
	case *ast.IndexExpr:
		if _, ok := l.facts.bounds[keyOf(l.fset, x.Lbrack)]; !ok || isRtCall(x.Index, "CheckIndex") {
			return nil
		}
		cp := *x
		cp.Index = rtCall(x.Index.Pos(), "CheckIndex", intOf(x.Index), lenOf("len", x.X))
		return &cp
	case *ast.SliceExpr:
		f, ok := l.facts.bounds[keyOf(l.fset, x.Lbrack)]
		if !ok || isRtCall(x.High, "CheckSlice") {
			return nil
		}
		var lo ast.Expr = &ast.BasicLit{ValuePos: x.Lbrack, Kind: token.INT, Value: "0"}
		if x.Low != nil {
			lo = intOf(x.Low)
		}
		cp := *x
		cp.High = rtCall(x.High.Pos(), "CheckSlice", lo, intOf(x.High), lenOf(f.length, x.X),
			&ast.BasicLit{ValuePos: x.High.Pos(), Kind: token.STRING, Value: `"` + f.what + `"`})
		return &cp
	}
	return nil
}

// intOf returns int(e).
func intOf(e ast.Expr) ast.Expr {
	return &ast.CallExpr{Fun: ident("int", e.Pos()), Lparen: e.Pos(), Args: []ast.Expr{e}, Rparen: e.End()}
}

// lenOf returns len(x) or cap(x).
func lenOf(fn string, x ast.Expr) ast.Expr {
	return &ast.CallExpr{Fun: ident(fn, x.Pos()), Lparen: x.Pos(), Args: []ast.Expr{x}, Rparen: x.End()}
}

// rtCall returns a call of the helper package's function name.
func rtCall(pos token.Pos, name string, args ...ast.Expr) ast.Expr {
	return &ast.CallExpr{Fun: rtSel(pos, name), Lparen: pos, Args: args, Rparen: pos}
}

// isRtCall reports whether e calls the helper package's function name.
func isRtCall(e ast.Expr, name string) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	s, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := s.X.(*ast.Ident)
	return ok && x.Name == rtName && s.Sel.Name == name
}

// rewriteRecovers makes recover() return what it returns in compiled Go
// (see recovered): recover() becomes Recovered(recover()), still called
// by the deferred function itself.
func rewriteRecovers(root ast.Node) {
	astutil.Apply(root, nil, func(c *astutil.Cursor) bool {
		if e, ok := c.Node().(ast.Expr); ok && isRecover(e) {
			if p, ok := c.Parent().(ast.Expr); !ok || !isRtCall(p, "Recovered") {
				c.Replace(rtCall(e.Pos(), "Recovered", e))
			}
		}
		return true
	})
}

// isRecover reports whether e is a call of the built-in recover.
func isRecover(e ast.Expr) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok || len(c.Args) != 0 {
		return false
	}
	id, ok := c.Fun.(*ast.Ident)
	return ok && id.Name == "recover" && id.Obj == nil
}

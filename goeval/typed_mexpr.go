package goeval

// Method expressions. yaegi v0.16 cannot call a method expression of a
// type declared in a cell: (*T).M fails with "reflect: Call with too many
// input arguments" and T.M with "undefined selector". Each becomes the
// function literal it stands for, with the receiver as first parameter:
// (*T).M is func(r *T, a int) { r.M(a) }.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
)

// methodExprFact is the function literal that replaces a method
// expression.
type methodExprFact struct {
	name string // the method's name: a guard against stale facts
	src  string
}

// methodExpr reports whether e may be a method expression of a session
// type (without types: T.M or (*T).M with T a type name of the session).
func (sc *typedScan) methodExpr(e *ast.SelectorExpr) bool {
	x := ast.Unparen(e.X)
	if st, ok := x.(*ast.StarExpr); ok {
		x = st.X
	}
	id, ok := x.(*ast.Ident)
	return ok && sc.kind(id.Name) == "type"
}

// collectMethodExprs records the function literals of the method
// expressions of d.
func (ck *check) collectMethodExprs(d ast.Decl, w *typeWriter, facts *typedFacts) {
	ast.Inspect(d, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		s := ck.info.Selections[sel]
		if s == nil || s.Kind() != types.MethodExpr || !ck.sessionRecv(s.Recv()) {
			return true
		}
		if src, err := methodExprSource(sel.Sel.Name, s.Type().(*types.Signature), w, sel.Pos()); err == nil {
			facts.mexprs[keyOf(ck.fset, sel.Pos())] = methodExprFact{name: sel.Sel.Name, src: src}
		}
		return true
	})
}

// sessionRecv reports whether t is, or points to, a type of the session.
func (ck *check) sessionRecv(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() == ck.pkg
}

// methodExprSource writes the function literal of the method name whose
// expression has the signature sig (the receiver first).
func methodExprSource(name string, sig *types.Signature, w *typeWriter, pos token.Pos) (string, error) {
	var params, args, results []string
	for i := range sig.Params().Len() {
		t := sig.Params().At(i).Type()
		variadic := sig.Variadic() && i == sig.Params().Len()-1
		if variadic {
			t = t.(*types.Slice).Elem()
		}
		typ, err := w.write(t, pos)
		if err != nil {
			return "", err
		}
		p := fmt.Sprintf("__mpigo_m%d", i)
		if variadic {
			params = append(params, p+" ..."+typ)
			args = append(args, p+"...")
		} else {
			params = append(params, p+" "+typ)
			args = append(args, p)
		}
	}
	for i := range sig.Results().Len() {
		typ, err := w.write(sig.Results().At(i).Type(), pos)
		if err != nil {
			return "", err
		}
		results = append(results, typ)
	}
	call := args[0] + "." + name + "(" + strings.Join(args[1:], ", ") + ")"
	body := call
	if len(results) > 0 {
		body = "return " + call
	}
	return "func(" + strings.Join(params, ", ") + ") (" + strings.Join(results, ", ") + ") { " + body + " }", nil
}

// methodExprLit returns the function literal of a method expression, or
// nil when it has none.
func (l *lowering) methodExprLit(sel *ast.SelectorExpr) ast.Expr {
	f, ok := l.facts.mexprs[keyOf(l.fset, sel.Pos())]
	if !ok || f.name != sel.Sel.Name {
		return nil
	}
	// In a file of the session's file name: yaegi finds a package name
	// by the base name of the file that uses it.
	e, err := parser.ParseExprFrom(l.fset, srcName, f.src, 0)
	if err != nil {
		l.err = fmt.Errorf("goeval: a method expression: %w", err)
		return nil
	}
	return e
}

package goeval

import (
	"go/parser"
	"go/token"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keywords are Go's keywords.
var keywords = []string{
	"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface",
	"map", "package", "range", "return", "select", "struct", "switch", "type", "var",
}

// Kinds of completion candidates. They are the names JupyterLab's completer
// and Language Server Protocol clients (CompletionItemKind, in lower case)
// show an icon or a coloured letter for; Go's own terms are mapped onto them.
const (
	KindFunction = "function"
	KindMethod   = "method"
	KindField    = "field"
	KindVariable = "variable"
	KindConstant = "constant"
	// KindType is a type. Go has no classes, but "class" is the name front
	// ends know for a type ("type" is none of theirs).
	KindType = "class"
	// KindPackage is a package: Python's "module" to the front ends.
	KindPackage = "module"
	KindKeyword = "keyword"
	// KindText is a word of the code whose kind is not known.
	KindText = "text"
)

// Candidate is one completion: the text that replaces the identifier, what
// it names, and for a function of a package its signature.
type Candidate struct {
	Text      string
	Kind      string // one of the Kind constants
	Signature string // e.g. "func(string) string"; "" if unknown
}

// declKinds maps the kinds of declarations to kinds of candidates.
var declKinds = map[string]string{
	"func": KindFunction, "type": KindType, "var": KindVariable,
	"const": KindConstant, "import": KindPackage,
}

// Complete returns the completions of the identifier before the cursor in
// code: after "pkg." the package's exported members, after "x." (x a
// variable of the session) its fields and methods, else the names in scope
// (declarations and variables of the session, imported packages, keywords,
// builtins, names in code) and every package name, which is imported
// automatically when used. cursor, start and end are offsets in code points;
// [start, end) is the text the matches replace.
func (s *Session) Complete(code string, cursor int) (matches []string, start, end int) {
	cands, start, end := s.Completions(code, cursor)
	for _, c := range cands {
		matches = append(matches, c.Text)
	}
	return matches, start, end
}

// Completions is Complete with the kind of every candidate, in the same
// order as Complete's matches.
func (s *Session) Completions(code string, cursor int) (cands []Candidate, start, end int) {
	off := runeOffset(code, cursor)
	cursor = utf8.RuneCountInString(code[:off])
	if inStringOrComment(code[:off]) {
		return nil, cursor, cursor
	}
	i := identStart(code, off)
	prefix := code[i:off]
	start, end = cursor-utf8.RuneCountInString(prefix), cursor
	v := s.view()
	if v == s {
		defer s.mu.Unlock()
	}
	var all []Candidate
	if i > 0 && code[i-1] == '.' {
		chain := chainBefore(code, i-1)
		if chain == "" {
			return nil, start, end
		}
		all = v.members(chain)
	} else {
		all = v.scopeNames(code, i)
	}
	return matching(all, prefix), start, end
}

// matching returns the candidates that start with prefix, sorted, each text
// once: the first candidate of a text wins (the session's own names come
// first, so a variable named like a package is a variable).
func matching(all []Candidate, prefix string) []Candidate {
	var out []Candidate
	seen := map[string]bool{}
	for _, c := range all {
		if strings.HasPrefix(c.Text, prefix) && !strings.HasPrefix(c.Text, "__mpigo") && !seen[c.Text] {
			seen[c.Text] = true
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Text < out[j].Text })
	return out
}

// view locks the session and returns it, or, while a cell runs, returns
// an empty session that shares only the documentation cache: completion and
// inspection then know the standard library and the code, not the session.
func (s *Session) view() *Session {
	if s.mu.TryLock() {
		return s
	}
	return &Session{store: newStore(), varSet: map[string]bool{}, imports: map[string]string{}, docs: s.docs}
}

// runeOffset converts an offset in code points into a byte offset.
func runeOffset(s string, runes int) int {
	if runes <= 0 {
		return 0
	}
	n := 0
	for i := range s {
		if n == runes {
			return i
		}
		n++
	}
	return len(s)
}

// isIdentRune reports whether r may be part of an identifier.
func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// identStart returns the byte offset where the identifier ending at off
// starts.
func identStart(s string, off int) int {
	i := off
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if !isIdentRune(r) {
			break
		}
		i -= size
	}
	return i
}

// identEnd returns the byte offset where the identifier starting at or
// containing off ends.
func identEnd(s string, off int) int {
	i := off
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isIdentRune(r) {
			break
		}
		i += size
	}
	return i
}

// chainBefore returns the selector chain ("a", "a.b") that ends just before
// the dot at dot, or "" if there is none (a call, an index...).
func chainBefore(s string, dot int) string {
	end := dot
	i := dot
	for {
		j := identStart(s, i)
		if j == i {
			return ""
		}
		if r, _ := utf8.DecodeRuneInString(s[j:]); unicode.IsDigit(r) {
			return ""
		}
		i = j
		if i > 0 && s[i-1] == '.' {
			i--
			continue
		}
		return s[i:end]
	}
}

// inStringOrComment reports whether code ends inside a string, a rune
// literal or a comment.
func inStringOrComment(code string) bool {
	toks, errs := scanTokens(code)
	if len(errs) > 0 {
		last := errs[len(errs)-1].Msg
		if strings.Contains(last, "not terminated") {
			return true
		}
	}
	for i := len(toks) - 1; i >= 0; i-- {
		t := toks[i]
		if t.tok == token.EOF || t.tok == token.SEMICOLON && t.end == t.off {
			continue
		}
		if t.tok == token.COMMENT && strings.HasPrefix(t.lit, "//") && !strings.Contains(code[t.off:], "\n") {
			return true
		}
		return false
	}
	return false
}

// scopeNames lists the names completion offers outside a selector, the
// session's own first.
func (s *Session) scopeNames(code string, at int) []Candidate {
	var out []Candidate
	for name, key := range s.store.byName {
		if e := s.store.entries[key]; e != nil && !strings.Contains(name, ".") {
			out = append(out, Candidate{Text: name, Kind: declKinds[e.Kind]})
		}
	}
	for _, name := range s.vars {
		out = append(out, Candidate{Text: name, Kind: KindVariable})
	}
	for name := range s.imports {
		out = append(out, Candidate{Text: name, Kind: KindPackage})
	}
	for _, name := range keywords {
		out = append(out, Candidate{Text: name, Kind: KindKeyword})
	}
	for name := range universe {
		out = append(out, Candidate{Text: name, Kind: universeKind(name)})
	}
	for _, name := range packages().names {
		out = append(out, Candidate{Text: name, Kind: KindPackage})
	}
	toks, _ := scanTokens(code)
	for _, t := range toks {
		if t.tok == token.IDENT && t.off != at {
			out = append(out, Candidate{Text: t.lit, Kind: KindText})
		}
	}
	return out
}

// universeKind returns the kind of a predeclared identifier.
func universeKind(name string) string {
	switch {
	case builtinTypes[name] || name == "comparable":
		return KindType
	case name == "true" || name == "false" || name == "iota" || name == "nil":
		return KindConstant
	}
	return KindFunction
}

// members lists the members of a package or of the value of a chain of
// selectors.
func (s *Session) members(chain string) []Candidate {
	first, rest, _ := strings.Cut(chain, ".")
	if rest == "" && !s.varSet[first] {
		if p := s.packageNamed(first); p != nil {
			return p.candidates()
		}
	}
	if !s.varSet[first] {
		if e := s.store.lookup(first); e == nil || e.Kind != "var" {
			return nil
		}
	}
	v, err := s.evalExpr(chain)
	if err != nil {
		return nil
	}
	out := valueMembers(v)
	// Methods of interpreted types are not in reflect: offer those of the
	// session's types that compile on the value.
	tried := map[string]bool{}
	for _, m := range out {
		tried[m.Text] = true
	}
	for _, e := range s.store.list() {
		if e.Kind != "func" || !strings.Contains(e.key, ".") {
			continue
		}
		m := e.key[strings.LastIndex(e.key, ".")+1:]
		if tried[m] {
			continue
		}
		tried[m] = true
		if s.compiles(chain + "." + m) {
			out = append(out, Candidate{Text: m, Kind: KindMethod})
		}
	}
	return out
}

// compiles reports whether an expression compiles in the session.
func (s *Session) compiles(expr string) bool {
	f, err := parser.ParseFile(s.ip.FileSet(), srcName, stmtPrefix+expr+"\n}", 0)
	if err != nil {
		return false
	}
	_, err = compileAST(s.ip, wrapperBody(f))
	return err == nil
}

// packageNamed returns the package a name denotes in the session: an
// import, or else the package of that name that would be imported
// automatically.
func (s *Session) packageNamed(name string) *pkgInfo {
	if e := s.store.lookup(name); e != nil && e.Kind != "import" {
		return nil
	}
	if p, ok := s.imports[name]; ok {
		return packages().byPath[p]
	}
	if ps := packages().byName[name]; len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// valueMembers lists the fields and methods of a value.
func valueMembers(v reflect.Value) []Candidate {
	var out []Candidate
	for v.IsValid() && v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	addMethods := func(t reflect.Type) {
		for i := 0; i < t.NumMethod(); i++ {
			out = append(out, Candidate{Text: t.Method(i).Name, Kind: KindMethod})
		}
	}
	addMethods(t)
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		addMethods(reflect.PointerTo(t))
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			out = append(out, Candidate{Text: fieldName(t.Field(i).Name), Kind: KindField})
		}
	}
	return out
}

// fieldName undoes yaegi's renaming of unexported fields of interpreted
// struct types ("Xname" for "name").
func fieldName(name string) string {
	if len(name) > 1 && name[0] == 'X' {
		r, _ := utf8.DecodeRuneInString(name[1:])
		if unicode.IsLower(r) || r == '_' {
			return name[1:]
		}
	}
	return name
}

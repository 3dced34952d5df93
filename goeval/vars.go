package goeval

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// VarInfo is a session variable (or a field, element or entry of one) as a
// debugger's variable explorer shows it.
type VarInfo struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
	// Children are the fields of a struct, the elements of a slice or an
	// array, the entries of a map (through pointers and interfaces), up to
	// VarDepth levels and VarWidth of each; a last child named "..." says
	// how many more there are.
	Children []VarInfo `json:"children,omitempty"`
}

// Bounds of Variables: a variable explorer shows a screenful, and a
// session may hold slices of millions of elements or deep graphs.
const (
	VarDepth = 3       // levels of children
	VarWidth = 100     // children of one value
	varNodes = 5000    // children in all, over every variable
	varText  = 1000    // bytes of one value's text in a listing
	richText = 1 << 20 // bytes of the text VariableText returns
)

// ErrNoVariable is the error of VariableText for a name that is no
// variable of the session.
var ErrNoVariable = errors.New("no such variable in the session")

// Variables lists the session's variables (those declared by var, then
// those statements defined), with their types and values, and children for
// the values inside them.
func (s *Session) Variables() []VarInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	budget := varNodes
	var out []VarInfo
	for _, n := range s.varNames() {
		v, err := s.evalExpr(n)
		if err != nil || !v.IsValid() {
			continue // declared by a cell that failed: nothing to show
		}
		typ, _ := s.carriedType(n, v.Type())
		if typ == "" {
			typ = s.reflectTypeText(v.Type())
		}
		out = append(out, VarInfo{Name: n, Type: typ, Value: clipText(formatValue(v), varText),
			Children: s.children(v, VarDepth, &budget)})
	}
	return out
}

// VariableText returns the value of the session's variable name as text,
// as a final expression shows it. Only a variable's name is accepted: the
// name comes from the debugger's client, and evaluating any expression it
// sends would run code.
func (s *Session) VariableText(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.varNames(), name) {
		return "", fmt.Errorf("%w: %q", ErrNoVariable, name)
	}
	v, err := s.evalExpr(name)
	if err != nil {
		return "", fmt.Errorf("reading %s: %s", name, cleanPositions(err.Error()))
	}
	return clipText(formatValue(v), richText), nil
}

// children returns the values inside v, depth levels down, spending at
// most *budget children.
func (s *Session) children(v reflect.Value, depth int, budget *int) []VarInfo {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
		v = v.Elem()
	}
	if depth == 0 || !v.IsValid() || *budget <= 0 {
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return s.fieldsOf(v, depth, budget)
	case reflect.Slice, reflect.Array:
		return s.elemsOf(v, depth, budget)
	case reflect.Map:
		return s.entriesOf(v, depth, budget)
	}
	return nil
}

// child describes the value v named name.
func (s *Session) child(name string, v reflect.Value, depth int, budget *int) VarInfo {
	*budget--
	return VarInfo{Name: name, Type: s.reflectTypeText(v.Type()), Value: clipText(formatValue(v), varText),
		Children: s.children(v, depth-1, budget)}
}

func (s *Session) fieldsOf(v reflect.Value, depth int, budget *int) []VarInfo {
	var out []VarInfo
	t := v.Type()
	for i := 0; i < t.NumField() && i < VarWidth && *budget > 0; i++ {
		// fieldName (complete.go) undoes yaegi's renaming of unexported fields.
		out = append(out, s.child(fieldName(t.Field(i).Name), v.Field(i), depth, budget))
	}
	return withMore(out, t.NumField())
}

func (s *Session) elemsOf(v reflect.Value, depth int, budget *int) []VarInfo {
	var out []VarInfo
	for i := 0; i < v.Len() && i < VarWidth && *budget > 0; i++ {
		out = append(out, s.child(strconv.Itoa(i), v.Index(i), depth, budget))
	}
	return withMore(out, v.Len())
}

// entriesOf lists a map's entries in the order of their keys' text, so
// that the explorer shows them in the same order each time.
func (s *Session) entriesOf(v reflect.Value, depth int, budget *int) []VarInfo {
	type entry struct {
		key string
		val reflect.Value
	}
	var entries []entry
	for it := v.MapRange(); it.Next(); {
		entries = append(entries, entry{clipText(formatValue(it.Key()), varText), it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	var out []VarInfo
	for i := 0; i < len(entries) && i < VarWidth && *budget > 0; i++ {
		out = append(out, s.child(entries[i].key, entries[i].val, depth, budget))
	}
	return withMore(out, len(entries))
}

// withMore appends to the children listed a child that says how many of
// total were left out.
func withMore(listed []VarInfo, total int) []VarInfo {
	if n := total - len(listed); n > 0 {
		listed = append(listed, VarInfo{Name: "...", Value: fmt.Sprintf("%d more", n)})
	}
	return listed
}

// clipText shortens text to at most max bytes, on a rune boundary.
func clipText(text string, max int) string {
	if len(text) <= max {
		return text
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}

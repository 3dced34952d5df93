package goeval

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"go/token"
	"reflect"
	"strconv"
	"strings"
)

// ValueError says why a value could not be carried between sessions
// (LastValue, ImportSlice). Each situation has one constructor: noLastValue,
// badSliceName, sliceNotDeclared.
type ValueError struct {
	Name string // the variable, for ImportSlice; "" for LastValue
	Why  string
}

// Error says what could not be done and why.
func (e *ValueError) Error() string {
	if e.Name == "" {
		return "goeval: no value: " + e.Why
	}
	return "goeval: cannot set " + e.Name + ": " + e.Why
}

// noLastValue is a LastValue without a value to give.
func noLastValue(why string) *ValueError { return &ValueError{Why: why} }

// badSliceName is an ImportSlice into a name that is not an identifier.
func badSliceName(name string) *ValueError {
	return &ValueError{Name: name, Why: strconv.Quote(name) + " is not a Go identifier"}
}

// sliceNotDeclared is an ImportSlice whose variable the session refused.
func sliceNotDeclared(name string, err error) *ValueError {
	return &ValueError{Name: name, Why: err.Error()}
}

// LastValue returns the value of the final expression of the last cell
// Eval ran (what %px --out brings back): gob-encoded with its type as a
// cell writes it, as ExportVars encodes a variable (Name is ""), and as
// JSON for a session that does not know that type. The CarriedVar's Type
// is "" when gob cannot carry the value; the JSON is nil when
// encoding/json cannot. The error says why there is neither.
func (s *Session) LastValue() (CarriedVar, json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.last
	if !v.IsValid() {
		return CarriedVar{}, nil, noLastValue("the cell has no final expression with a value")
	}
	cv, gobWhy := s.carryValue(v)
	js, err := json.Marshal(v.Interface())
	if err != nil {
		js = nil
	}
	if cv.Type == "" && js == nil {
		why := gobWhy
		if err != nil {
			why += "; encoding/json: " + err.Error()
		}
		return CarriedVar{}, nil, noLastValue(why)
	}
	return cv, js, nil
}

// carryValue encodes v, the last final expression's value, or says why
// gob cannot (the CarriedVar is then empty).
func (s *Session) carryValue(v reflect.Value) (CarriedVar, string) {
	typ, why := s.lastType(v.Type())
	if why != "" {
		return CarriedVar{}, why
	}
	return encodeCarried("", typ, v)
}

// lastType writes the type of the last final expression as a cell would:
// a variable's as the type check found it, else reflect's, unless that may
// be one of the session's types, which reflect sees as unnamed (a struct).
func (s *Session) lastType(rt reflect.Type) (string, string) {
	if s.finalName != "" && s.isVar(s.finalName) {
		if typ, why := s.carriedType(s.finalName, rt); typ != "" || why != "" {
			return typ, why
		}
	}
	if s.finalType != "" {
		return s.finalType, ""
	}
	typ := s.reflectTypeText(rt)
	if s.declaresTypes() && strings.Contains(typ, "struct") {
		return "", "its type may be one of the session's types, which reflect cannot name"
	}
	return typ, ""
}

// ImportSlice declares name as a slice indexed by rank holding vals (what
// LastValue gave on each rank; a missing value is the element's zero
// value): a []T when every value has the type T and this session knows T,
// else a []any of the values decoded from jsons (float64, string, bool,
// []any, map[string]any or nil, as encoding/json decodes them).
func (s *Session) ImportSlice(name string, vals []CarriedVar, jsons []json.RawMessage) error {
	if !token.IsIdentifier(name) || name == "_" {
		return badSliceName(name)
	}
	n := max(len(vals), len(jsons))
	if typ := commonType(vals, n); typ != "" {
		if s.declareSlice(name, "[]"+typ, n) == nil && s.decodeGob(name, vals) == nil {
			return nil
		}
	}
	if err := s.declareSlice(name, "[]any", n); err != nil {
		return sliceNotDeclared(name, err)
	}
	if err := s.decodeJSON(name, jsons); err != nil {
		return sliceNotDeclared(name, err)
	}
	return nil
}

// maxSliceElems bounds the array elements a carried type may declare:
// declaring the slice allocates them.
const maxSliceElems = 64 << 20

// commonType returns the type every one of the n values has, or "" (also
// when that is not a type expression: it came from another process).
func commonType(vals []CarriedVar, n int) string {
	if len(vals) != n || n == 0 {
		return ""
	}
	typ := vals[0].Type
	for _, v := range vals[1:] {
		if v.Type != typ {
			return ""
		}
	}
	if !IsTypeText(typ, maxSliceElems) {
		return "" // not a type: the values go in as JSON
	}
	return typ
}

// declareSlice declares name as a slice of type typ and length n.
func (s *Session) declareSlice(name, typ string, n int) error {
	_, err := s.Eval(context.Background(), 0, fmt.Sprintf("%s := make(%s, %d)", name, typ, n))
	return err
}

// elems returns the elements of the slice variable name, settable.
func (s *Session) elems(name string) (reflect.Value, error) {
	p, err := s.evalExpr("&" + name)
	if err != nil {
		return reflect.Value{}, err
	}
	if p.Kind() != reflect.Pointer || p.Elem().Kind() != reflect.Slice {
		return reflect.Value{}, fmt.Errorf("%s is not a slice", name)
	}
	return p.Elem(), nil
}

// decodeGob decodes vals into the elements of the slice name.
func (s *Session) decodeGob(name string, vals []CarriedVar) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, err := s.elems(name)
	if err != nil {
		return err
	}
	for i, v := range vals {
		if len(v.Value) == 0 {
			continue
		}
		if err := gob.NewDecoder(bytes.NewReader(v.Value)).DecodeValue(sl.Index(i).Addr()); err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
	}
	return nil
}

// decodeJSON decodes jsons into the elements of the []any name.
func (s *Session) decodeJSON(name string, jsons []json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, err := s.elems(name)
	if err != nil {
		return err
	}
	for i, js := range jsons {
		if len(js) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(js, &v); err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
		if v != nil {
			sl.Index(i).Set(reflect.ValueOf(v))
		}
	}
	return nil
}

// Restore replays a declaration store (Decls of another session) into this
// one: all of it at once, so that declarations may refer to each other,
// else one by one, keeping what still compiles; the error names those that
// do not.
func (s *Session) Restore(decls []Decl) error {
	if len(decls) == 0 {
		return nil
	}
	var imports, rest strings.Builder
	for _, d := range decls {
		if d.Kind == "import" {
			imports.WriteString(d.Src + "\n")
		} else {
			rest.WriteString(d.Src + "\n")
		}
	}
	ctx := context.Background()
	if _, err := s.Eval(ctx, 0, imports.String()+rest.String()); err == nil {
		return nil
	}
	var failed []string
	for _, d := range decls {
		if _, err := s.Eval(ctx, d.Cell, d.Src); err != nil {
			failed = append(failed, d.Name)
		}
	}
	if len(failed) > 0 {
		return restoreError(failed)
	}
	return nil
}

// RestoreError names the declarations Restore could not replay.
type RestoreError struct{ Names []string }

// Error names them.
func (e *RestoreError) Error() string { return fmt.Sprintf("could not restore %v", e.Names) }

// restoreError is a Restore that left declarations out.
func restoreError(names []string) *RestoreError { return &RestoreError{Names: names} }

package goeval

import (
	"go/ast"
	"go/token"
	"strings"
)

// Decl is one entry of the declaration store: an import or a top-level
// declaration that a cell evaluated successfully.
type Decl struct {
	Kind string // "import", "const", "type", "var" or "func"
	// Name is the declared name: a method is "T.M"; an import is the name it
	// binds ("_" and "." included); a const group or a var spec declaring
	// several names is named after its first one (see Names).
	Name string
	// Names lists every name the declaration defines, when more than one.
	Names []string
	// Src is the source text, doc comment included, as written in the cell;
	// a spec taken out of a grouped declaration gets its keyword
	// ("type T int" from "type ( T int )"). An import is one line,
	// `import "fmt"` or `import r "math/rand"`.
	Src string
	// Cell is the execution count of the cell it came from; Line is the cell
	// line where Src starts (0 for an import added automatically).
	Cell, Line int
}

// declStore holds the declarations, keyed by name (latest wins), in
// first-definition order.
type declStore struct {
	order   []string
	entries map[string]*storeEntry
	byName  map[string]string // declared name → key of the entry defining it
}

// storeEntry is a stored declaration with what the session needs about it.
type storeEntry struct {
	Decl
	key   string
	names []string
	out   int             // number of results of a func; -1 for other kinds
	sig   *ast.FuncType   // signature of a generic func
	refs  map[string]bool // identifiers the source uses
	// For an import: the path and whether the name is written.
	path     string
	explicit bool
}

func newStore() *declStore {
	return &declStore{entries: map[string]*storeEntry{}, byName: map[string]string{}}
}

// clone returns an independent copy of the store.
func (st *declStore) clone() *declStore {
	c := newStore()
	c.order = append([]string(nil), st.order...)
	for k, e := range st.entries {
		cp := *e
		c.entries[k] = &cp
	}
	for k, v := range st.byName {
		c.byName[k] = v
	}
	return c
}

// put stores an entry. An entry with the same key is replaced in place; an
// entry with another key defining one of the same names is removed (a const
// group redefined in part disappears whole).
func (st *declStore) put(e *storeEntry) {
	for _, n := range e.names {
		if n == "_" {
			continue
		}
		if old, ok := st.byName[n]; ok && old != e.key {
			st.remove(old)
		}
	}
	if _, ok := st.entries[e.key]; ok {
		st.removeNames(e.key)
	} else {
		st.order = append(st.order, e.key)
	}
	st.entries[e.key] = e
	for _, n := range e.names {
		if n != "_" {
			st.byName[n] = e.key
		}
	}
}

// remove deletes the entry with key k.
func (st *declStore) remove(k string) {
	if _, ok := st.entries[k]; !ok {
		return
	}
	st.removeNames(k)
	delete(st.entries, k)
	for i, o := range st.order {
		if o == k {
			st.order = append(st.order[:i:i], st.order[i+1:]...)
			break
		}
	}
}

// removeNames forgets the names of the entry with key k.
func (st *declStore) removeNames(k string) {
	for _, n := range st.entries[k].names {
		if st.byName[n] == k {
			delete(st.byName, n)
		}
	}
}

// get returns the entry with key k, or nil.
func (st *declStore) get(k string) *storeEntry { return st.entries[k] }

// lookup returns the entry that defines name, or nil.
func (st *declStore) lookup(name string) *storeEntry {
	if k, ok := st.byName[name]; ok {
		return st.entries[k]
	}
	return nil
}

// list returns the entries in first-definition order.
func (st *declStore) list() []*storeEntry {
	out := make([]*storeEntry, 0, len(st.order))
	for _, k := range st.order {
		out = append(out, st.entries[k])
	}
	return out
}

// CellDecls returns the declarations a cell numbered cellNo makes (its
// imports, and its const, type, var and func declarations, func main
// included), the way a session would store them, without running anything:
// what the %mpirun magic keeps of its compiled cells so that later cells
// can use their functions and types. A cell that does not parse is an
// *Error.
func CellDecls(cellNo int, src string) ([]Decl, error) {
	c, err := analyzeCell(token.NewFileSet(), cellNo, strings.ReplaceAll(src, "\r\n", "\n"), func(string) bool { return false })
	if err != nil {
		return nil, err
	}
	st := newStore()
	storeImports(st, c)
	storeDecls(st, cellNo, c.decls, c.generics)
	var out []Decl
	for _, e := range st.list() {
		out = append(out, e.Decl)
	}
	return out, nil
}

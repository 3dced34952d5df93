package program

import (
	"sort"

	"github.com/mpigo/mpigo/goeval"
)

// Store is what the magic keeps of the %mpirun cells that compiled:
// their functions, types, constants and imports (and package-level vars of
// a cell with its own func main), so that a later %mpirun cell can call a
// helper declared by an earlier one. Plain cells cannot declare such
// helpers when they use package mpi, which the interpreter cannot load.
// A Store is not safe for concurrent use: its owner guards it.
type Store struct {
	decls []goeval.Decl // by cell, latest last; no two declare the same name
}

// Remember records the declarations of %mpirun cell number cell, whose
// body (the cell from its second line) compiled. A body that does not parse
// is left out: it did not compile either.
func (s *Store) Remember(cell int, body string, hasMain bool) {
	ds, err := goeval.CellDecls(cell, body)
	if err != nil {
		return
	}
	var keep []goeval.Decl
	for _, d := range ds {
		switch {
		case d.Kind == "func" && (d.Name == "main" || d.Name == "init"):
			continue // the cell's own program
		case d.Kind == "var" && !hasMain:
			continue // a variable local to the cell's main
		case d.Kind == "import" && d.Name == "mpi":
			continue // generated programs import mpi themselves
		}
		d.Line++ // the %mpirun line is the cell's line 1
		keep = append(keep, d)
	}
	s.decls = MergeDecls(s.decls, keep)
}

// Reset forgets every declaration (%reset).
func (s *Store) Reset() { s.decls = nil }

// Snapshot returns a copy of the declarations.
func (s *Store) Snapshot() []goeval.Decl {
	return append([]goeval.Decl(nil), s.decls...)
}

// MergeDecls merges two lists of declarations by cell, the latest winning:
// a declaration is dropped when a later one (by cell, or later in the list
// for the same cell) declares one of its names again, as a session's store
// replaces it. Imports and declarations are separate name spaces here, as
// an import "strings" and a func strings cannot both be picked by a cell.
func MergeDecls(a, b []goeval.Decl) []goeval.Decl {
	all := make([]goeval.Decl, 0, len(a)+len(b))
	all = append(append(all, a...), b...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Cell < all[j].Cell })
	last := map[string]int{}
	for i, d := range all {
		for _, k := range declKeys(d) {
			last[k] = i
		}
	}
	out := make([]goeval.Decl, 0, len(all))
	for i, d := range all {
		latest := true
		for _, k := range declKeys(d) {
			if last[k] != i {
				latest = false
			}
		}
		if latest {
			out = append(out, d)
		}
	}
	return out
}

// declKeys returns the names d declares, as merge keys.
func declKeys(d goeval.Decl) []string {
	if d.Kind == "import" {
		return []string{"import " + d.Name}
	}
	if len(d.Names) > 0 {
		return d.Names
	}
	return []string{d.Name}
}

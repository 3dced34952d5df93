package pxrank

import (
	"reflect"

	"github.com/mpigo/mpigo/goeval"
)

//go:generate go run ./internal/genmpisyms

// mpiPath is the import path of the binding cells use.
const mpiPath = "github.com/mpigo/mpigo/mpi"

// mpiSymbols holds yaegi's symbol table of package mpi (mpi_symbols.go,
// keyed "path/name" as yaegi extract writes it).
var mpiSymbols = map[string]map[string]reflect.Value{}

// mpiPackage is package mpi as a package compiled into the interpreter.
func mpiPackage() goeval.CompiledPackage {
	return goeval.CompiledPackage{Path: mpiPath, Name: "mpi", Symbols: mpiSymbols[mpiPath+"/mpi"]}
}

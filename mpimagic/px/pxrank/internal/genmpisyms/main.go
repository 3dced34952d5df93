// Command genmpisyms writes mpi_symbols.go of package pxrank: yaegi's
// symbol table of package mpi, which makes the binding callable from the
// cells of a rank's interpreter. Package mpi is cgo, so the table is
// generated here, where MPI's development files are, and checked in: the
// exported API is the same whatever MPI a rank interpreter links with
// (only cgo directives differ between MPIs), and building a rank
// interpreter then needs no extraction of mpi. Run it with go generate in
// package pxrank; TestMPISymbolsUpToDate checks the file.
package main

import (
	"fmt"
	"os"

	"github.com/mpigo/mpigo/mpimagic/px/pxrank/internal/mpisyms"
)

func main() {
	out := "mpi_symbols.go"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	src, err := mpisyms.Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genmpisyms:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genmpisyms:", err)
		os.Exit(1)
	}
}

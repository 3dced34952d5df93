// Package program turns an %mpirun cell into a Go program: it splits the
// cell into statements and declarations (split.go), picks the declarations
// of earlier cells the cell uses and writes main.go with MPI initialised
// around the cell (generate.go), edits that keep every position so that
// compile errors name the cell's own lines (edits.go), remembers what
// compiled %mpirun cells declared (Store), and makes the readable version
// that --export writes (ExportSources). Everything here is a pure function
// of its inputs: no files, no processes, no environment.
package program

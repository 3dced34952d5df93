// Package build compiles MPI programs: it finds the go command and decides
// how to build for an MPI (DetectToolchain: the pkg-config module of Open
// MPI or MPICH, else its mpicc), writes mpigo's embedded mpi, display and
// rankio sources once to CACHE/src/HASH (Sources), and builds a program in
// CACHE/build/KEY, KEY hashing its source, the Go version, the MPI and its
// flags (Cache.Build), in a temporary directory renamed into place, so that
// an unchanged program is never built twice and two kernels building the
// same program at once are fine. Go's own build cache is shared, so a
// one-line edit recompiles only the main package. Internal linking is tried
// first (several times faster than the C linker); external linking is the
// fallback, remembered per toolchain. Compiler messages become a
// program.CompileError that names the cell's lines.
package build

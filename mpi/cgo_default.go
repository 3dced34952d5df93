//go:build !mpich && !ompi && !mpicc

package mpi

// Default build: the generic "mpi" pkg-config module. On Debian and Ubuntu
// it is an alternative (update-alternatives --display mpi-x86_64-linux-gnu)
// that points at ompi.pc or mpich.pc, whichever MPI is installed or chosen.
// Elsewhere use -tags ompi, -tags mpich or -tags mpicc (see the package doc).

// #cgo pkg-config: mpi
import "C"

//go:build (mpich && ompi) || (mpich && mpicc) || (ompi && mpicc)

package mpi

// More than one of the build tags mpich, ompi and mpicc: the C compiler
// stops with an error that names the problem (see mpigo.h).

// #cgo CFLAGS: -DMPIGO_TAG_CONFLICT
import "C"

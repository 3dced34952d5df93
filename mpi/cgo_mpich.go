//go:build mpich && !ompi && !mpicc

package mpi

// -tags mpich: MPICH (and MPICH derivatives that ship mpich.pc, such as
// MVAPICH) through its own pkg-config module.

// #cgo pkg-config: mpich
import "C"

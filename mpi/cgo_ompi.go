//go:build ompi && !mpich && !mpicc

package mpi

// -tags ompi: Open MPI through its own pkg-config module (ompi-c.pc, found
// in $prefix/lib/pkgconfig; `module load openmpi` usually puts it on
// PKG_CONFIG_PATH).

// #cgo pkg-config: ompi-c
import "C"

//go:build mpicc && !ompi && !mpich

package mpi

// -tags mpicc: no pkg-config at all. The C compiler must find mpi.h and
// the library by itself: build with CC=mpicc (the MPI compiler wrapper adds
// both), or set CGO_CFLAGS and CGO_LDFLAGS by hand. For MPIs without a
// pkg-config file, e.g. Intel MPI or Cray's cc wrapper.

import "C"

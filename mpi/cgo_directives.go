package mpi

// The blocking C helpers use their buffers only during the call (MPI keeps
// no pointer after a blocking call returns), so the compiler need not move
// what Go passes them to the heap: with noescape (which cgo honours only
// together with nocallback), a slice passed as `any` costs no allocation.
// None of the helpers calls back into Go (errors come back as codes:
// MPI_ERRORS_RETURN). The hot helpers (send, recv, sendrecv, bcast, reduce,
// allreduce) take addresses instead of pointers (see buffer.addr), which
// escape nothing, and are not marked: cgo implements nocallback as a check
// around every call (runtime.cgoNoCallback, twice), 2.4 % of the time of
// short calls under perf.
// mpigo_isend and mpigo_irecv are not noescape: MPI keeps their buffer,
// which Request pins until Wait.

/*
#cgo noescape mpigo_mrecv
#cgo noescape mpigo_scatter
#cgo noescape mpigo_gather
#cgo noescape mpigo_allgather
#cgo noescape mpigo_scatterv
#cgo noescape mpigo_gatherv
#cgo noescape mpigo_allgatherv
#cgo noescape mpigo_alltoall
#cgo noescape mpigo_alltoallv
#cgo noescape mpigo_waitall
#cgo noescape mpigo_processor_name
#cgo noescape mpigo_library_version
#cgo noescape mpigo_error_string
#cgo noescape mpigo_comm_rank
#cgo noescape mpigo_comm_size
#cgo nocallback mpigo_mrecv
#cgo nocallback mpigo_scatter
#cgo nocallback mpigo_gather
#cgo nocallback mpigo_allgather
#cgo nocallback mpigo_scatterv
#cgo nocallback mpigo_gatherv
#cgo nocallback mpigo_allgatherv
#cgo nocallback mpigo_alltoall
#cgo nocallback mpigo_alltoallv
#cgo nocallback mpigo_waitall
#cgo nocallback mpigo_processor_name
#cgo nocallback mpigo_library_version
#cgo nocallback mpigo_error_string
#cgo nocallback mpigo_comm_rank
#cgo nocallback mpigo_comm_size
#include "mpigo.h"
*/
import "C"

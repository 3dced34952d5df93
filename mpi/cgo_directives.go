package mpi

// The blocking C helpers use their buffers only during the call (MPI keeps
// no pointer after a blocking call returns), so the compiler need not move
// what Go passes them to the heap: with noescape, a slice passed as `any`
// costs no allocation. None of the helpers calls back into Go (errors come
// back as codes: MPI_ERRORS_RETURN), so nocallback saves some bookkeeping.
// mpigo_isend and mpigo_irecv are not noescape: MPI keeps their buffer,
// which Request pins until Wait.

/*
#cgo noescape mpigo_send
#cgo noescape mpigo_recv
#cgo noescape mpigo_sendrecv
#cgo noescape mpigo_mrecv
#cgo noescape mpigo_bcast
#cgo noescape mpigo_scatter
#cgo noescape mpigo_gather
#cgo noescape mpigo_allgather
#cgo noescape mpigo_reduce
#cgo noescape mpigo_allreduce
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
#cgo nocallback mpigo_send
#cgo nocallback mpigo_recv
#cgo nocallback mpigo_sendrecv
#cgo nocallback mpigo_probe
#cgo nocallback mpigo_iprobe
#cgo nocallback mpigo_mprobe_any
#cgo nocallback mpigo_mrecv
#cgo nocallback mpigo_isend
#cgo nocallback mpigo_irecv
#cgo nocallback mpigo_wait
#cgo nocallback mpigo_test_req
#cgo nocallback mpigo_waitall
#cgo nocallback mpigo_barrier
#cgo nocallback mpigo_bcast
#cgo nocallback mpigo_scatter
#cgo nocallback mpigo_gather
#cgo nocallback mpigo_allgather
#cgo nocallback mpigo_reduce
#cgo nocallback mpigo_allreduce
#cgo nocallback mpigo_scatterv
#cgo nocallback mpigo_gatherv
#cgo nocallback mpigo_allgatherv
#cgo nocallback mpigo_alltoall
#cgo nocallback mpigo_alltoallv
#include "mpigo.h"
*/
import "C"

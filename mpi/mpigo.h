/*
 * C helpers for package mpi. All handle juggling happens here: Open MPI's
 * handles are pointers to structs, MPICH's are ints, and their predefined
 * handles (MPI_COMM_WORLD, MPI_DOUBLE, MPI_SUM, ...) are macros cgo cannot
 * always evaluate. Go holds the opaque C types (MPI_Comm, MPI_Request,
 * MPI_Message) and passes small integer codes for datatypes and operations.
 *
 * Every function that calls MPI returns its error code (MPI_SUCCESS or an
 * error code, since communicators use MPI_ERRORS_RETURN); results come back
 * by value in small structs, so Go passes no pointers except buffers.
 */
#ifndef MPIGO_H
#define MPIGO_H

#ifdef MPIGO_TAG_CONFLICT
#error "package mpi: the build tags mpich, ompi and mpicc are exclusive; use at most one"
#endif
#if defined(__has_include)
#if !__has_include(<mpi.h>)
#error "package mpi: mpi.h not found. Install an MPI (Debian: apt-get install libopenmpi-dev openmpi-bin, or libmpich-dev mpich), load it (module load openmpi) so that pkg-config finds it, or build with -tags mpicc and CC=mpicc; see the package doc"
#endif
#endif

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* Element type codes; keep in step with the kind constants in buffer.go. */
enum {
	MPIGO_NONE = 0,
	MPIGO_INT8,
	MPIGO_INT16,
	MPIGO_INT32,
	MPIGO_INT64,
	MPIGO_UINT8,
	MPIGO_UINT16,
	MPIGO_UINT32,
	MPIGO_UINT64,
	MPIGO_FLOAT32,
	MPIGO_FLOAT64,
	MPIGO_COMPLEX64,
	MPIGO_COMPLEX128,
	MPIGO_BOOL,
	MPIGO_BYTE, /* MPI_BYTE: the object calls' gob payloads */
	MPIGO_NKINDS
};

/* Reduction operation codes; keep in step with the Op constants in op.go. */
enum {
	MPIGO_SUM = 0,
	MPIGO_PROD,
	MPIGO_MAX,
	MPIGO_MIN,
	MPIGO_LAND,
	MPIGO_LOR,
	MPIGO_LXOR,
	MPIGO_BAND,
	MPIGO_BOR,
	MPIGO_BXOR,
	MPIGO_NOPS
};

/* Implementation codes for mpigo_impl. */
enum { MPIGO_IMPL_OTHER = 0, MPIGO_IMPL_OPENMPI, MPIGO_IMPL_MPICH };

typedef struct {
	int err;
	int source;
	int tag;
	long long bytes; /* size of the message in bytes */
} mpigo_status;

typedef struct {
	int err;
	uintptr_t req; /* the MPI_Request, as the other request helpers take it */
} mpigo_req;

typedef struct {
	mpigo_status st;
	int done;
} mpigo_test;

typedef struct {
	mpigo_status st;
	MPI_Message msg;
} mpigo_mprobe;

typedef struct {
	int err;
	MPI_Comm comm;
} mpigo_comm;

typedef struct {
	int err;
	int value;
} mpigo_int;

/* environment */
int mpigo_impl(void);
int mpigo_self_wait_bug(void);
extern int mpigo_yield_due; /* see mpigo.c; Go clears it after rescheduling */
int mpigo_local_size(MPI_Comm comm);
int mpigo_online_cpus(void);
mpigo_int mpigo_init(int required);
int mpigo_finalize(void);
int mpigo_query_thread(void);
int mpigo_is_thread_main(void);
int mpigo_on_init_thread(void);
int mpigo_initialized(void);
int mpigo_finalized(void);
void mpigo_fix_signals(void);
int mpigo_thread_level(int level);
int mpigo_thread_code(int provided);
double mpigo_wtime(void);
double mpigo_wtick(void);
int mpigo_processor_name(char *buf, int *len);
int mpigo_library_version(char *buf, int *len);
int mpigo_error_string(int code, char *buf, int *len);
int mpigo_error_class(int code);
int mpigo_abort(MPI_Comm comm, int code);
int mpigo_any_source(void);
int mpigo_any_tag(void);
int mpigo_proc_null(void);
int mpigo_undefined(void);
int mpigo_max_processor_name(void);
int mpigo_max_error_string(void);
int mpigo_max_library_version_string(void);
int mpigo_type_size(int kind);

/* communicators */
MPI_Comm mpigo_comm_world(void);
MPI_Comm mpigo_comm_self(void);
int mpigo_comm_is_null(MPI_Comm comm);
/* a handle as the hot helpers take it (see the point to point section) */
uintptr_t mpigo_comm_handle(MPI_Comm comm);
int mpigo_comm_rank(MPI_Comm comm, int *rank);
int mpigo_comm_size(MPI_Comm comm, int *size);
mpigo_comm mpigo_comm_split(MPI_Comm comm, int color, int key);
mpigo_comm mpigo_comm_dup(MPI_Comm comm);
int mpigo_comm_free(MPI_Comm comm);
mpigo_int mpigo_tag_ub(MPI_Comm comm);

/*
 * point to point; poll is MPIGO_BLOCK, MPIGO_POLL or MPIGO_YIELD (mpigo.c).
 * The hot calls take their buffers as addresses (uintptr_t): cgo then skips
 * its check that the memory holds no Go pointers, which cost a third of a
 * call's overhead; the buffers Go passes are numbers only, by construction
 * (package mpi's buffer kinds), and Go keeps them alive over the call. They
 * take communicator and request handles as uintptr_t too (pointers in Open
 * MPI, which cgo would check as well; ints in MPICH).
 */
int mpigo_send(uintptr_t buf, int count, int kind, int dest, int tag, uintptr_t ch, int poll);
mpigo_status mpigo_recv(uintptr_t buf, int count, int kind, int source, int tag, uintptr_t ch,
			int poll);
mpigo_status mpigo_sendrecv(uintptr_t sbuf, int scount, int skind, int dest, int stag,
			    uintptr_t rbuf, int rcount, int rkind, int source, int rtag, uintptr_t ch,
			    int poll);
mpigo_status mpigo_probe(int source, int tag, MPI_Comm comm, int poll);
mpigo_test mpigo_iprobe(int source, int tag, MPI_Comm comm);
mpigo_mprobe mpigo_mprobe_any(int source, int tag, MPI_Comm comm, int poll);
mpigo_status mpigo_mrecv(void *buf, int count, int kind, MPI_Message msg, int poll);
mpigo_req mpigo_isend(uintptr_t buf, int count, int kind, int dest, int tag, uintptr_t ch);
mpigo_req mpigo_irecv(uintptr_t buf, int count, int kind, int source, int tag, uintptr_t ch);
mpigo_test mpigo_wait(uintptr_t rh, int poll);
mpigo_test mpigo_test_req(uintptr_t rh);
int mpigo_waitall(int n, uintptr_t *reqs, mpigo_status *out, int poll);

/* collectives; inplace != 0 passes MPI_IN_PLACE as the send buffer */
int mpigo_barrier(MPI_Comm comm, int poll);
int mpigo_bcast(uintptr_t buf, int count, int kind, int root, uintptr_t ch, int poll);
int mpigo_scatter(const void *sbuf, void *rbuf, int count, int kind, int root, MPI_Comm comm,
		  int poll);
int mpigo_gather(const void *sbuf, void *rbuf, int count, int kind, int root, MPI_Comm comm,
		 int poll);
int mpigo_allgather(const void *sbuf, void *rbuf, int count, int kind, MPI_Comm comm, int poll);
int mpigo_reduce(uintptr_t sb, uintptr_t rb, int count, int kind, int op, int inplace, int root,
		 uintptr_t ch, int poll);
int mpigo_allreduce(uintptr_t sb, uintptr_t rb, int count, int kind, int op, int inplace,
		    uintptr_t ch, int poll);
int mpigo_alltoall(const void *sbuf, void *rbuf, int count, int kind, MPI_Comm comm, int poll);
/* counts and displacements in elements of kind; NULL where MPI ignores them */
int mpigo_scatterv(const void *sbuf, const int *counts, const int *displs, void *rbuf,
		   int rcount, int kind, int root, MPI_Comm comm, int poll);
int mpigo_gatherv(const void *sbuf, int scount, void *rbuf, const int *counts,
		  const int *displs, int kind, int root, MPI_Comm comm, int poll);
int mpigo_allgatherv(const void *sbuf, int scount, void *rbuf, const int *counts,
		     const int *displs, int kind, MPI_Comm comm, int poll);
int mpigo_alltoallv(const void *sbuf, const int *scounts, const int *sdispls, void *rbuf,
		    const int *rcounts, const int *rdispls, int kind, MPI_Comm comm, int poll);

#endif

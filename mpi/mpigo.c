/* C helpers for package mpi; see mpigo.h. */
#include "mpigo.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Workarounds for MPICH (seen with Debian's 4.0.2, ch4:ucx):
 *
 * - MPI_Reduce with MPI_IN_PLACE at a root other than 0 crashes for
 *   messages above 2 KiB (pmodels/mpich#6540, fixed by pmodels/mpich#6543
 *   in 4.1.2): the root reduces from a temporary copy instead.
 * - With MPI_THREAD_MULTIPLE, a thread blocked in MPI_Recv or MPI_Wait on a
 *   receive that a message from its own rank satisfies (source == own rank or
 *   MPI_ANY_SOURCE) is never woken when another thread sends that message.
 *   Those waits poll with MPI_Test instead (Go passes MPIGO_POLL).
 */
#if defined(MPICH_NUMVERSION)
#define MPIGO_INPLACE_REDUCE_BUG (MPICH_NUMVERSION < 40102300)
#define MPIGO_SELF_WAIT_BUG 1
#else
#define MPIGO_INPLACE_REDUCE_BUG 0
#define MPIGO_SELF_WAIT_BUG 0
#endif

int mpigo_self_wait_bug(void) { return MPIGO_SELF_WAIT_BUG; }

/*
 * Rescheduling. Go's sysmon treats a goroutine whose P has not been
 * rescheduled for 10 ms as hogging it: every 20 us it then signals the thread
 * (SIGURG) and takes its P away while it is in a cgo call. A goroutine that
 * makes nothing but short MPI calls never reschedules, so after 10 ms every
 * rank would be interrupted 50000 times a second, doubling small-message
 * latency (measured: 1 us -> 2 us per round trip). The helpers therefore
 * count their calls and look at a cheap clock every MPIGO_TICK_CALLS of them;
 * when a window of MPIGO_YIELD_NS has passed with at least 8 calls per
 * MPIGO_YIELD_NS on average, they raise mpigo_yield_due; Go reads the flag
 * after each call, without a cgo call, and passes through the scheduler
 * (runtime.Gosched), which restarts the 10 ms. Long calls (an Allreduce of
 * megabytes) are left alone: each loses its P once at most, while a Gosched
 * of the locked main goroutine is a thread handoff, which costs milliseconds
 * when ranks outnumber cores.
 */
#define MPIGO_YIELD_NS 4000000LL
/* the clock is read once every MPIGO_TICK_CALLS calls: a read costs more
 * than the rest of a call's overhead on some virtual machines (15 % of the
 * time of short calls, measured with perf) */
#define MPIGO_TICK_CALLS 16
int mpigo_yield_due;
static long long mpigo_yield_at, mpigo_window;
static unsigned mpigo_calls;
static clockid_t mpigo_clock = CLOCK_MONOTONIC_COARSE;

static void mpigo_tick(void)
{
	struct timespec t;
	long long now;
	unsigned n;
	if (__atomic_load_n(&mpigo_yield_due, __ATOMIC_RELAXED))
		return;
	/* a plain increment, not a locked one: a count lost to a race between
	 * threads only delays the next look at the clock */
	n = __atomic_load_n(&mpigo_calls, __ATOMIC_RELAXED) + 1;
	__atomic_store_n(&mpigo_calls, n, __ATOMIC_RELAXED);
	if (n % MPIGO_TICK_CALLS != 0)
		return;
	clock_gettime(mpigo_clock, &t);
	now = (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
	if (now >= __atomic_load_n(&mpigo_yield_at, __ATOMIC_RELAXED)) {
		long long elapsed = now - __atomic_load_n(&mpigo_window, __ATOMIC_RELAXED);
		__atomic_store_n(&mpigo_window, now, __ATOMIC_RELAXED);
		__atomic_store_n(&mpigo_yield_at, now + MPIGO_YIELD_NS, __ATOMIC_RELAXED);
		__atomic_store_n(&mpigo_calls, 0, __ATOMIC_RELAXED);
		if ((long long)n * (MPIGO_YIELD_NS / 8) >= elapsed)
			__atomic_store_n(&mpigo_yield_due, 1, __ATOMIC_RELAXED);
	}
}

/* mpigo_clock_init picks the coarse clock if it ticks often enough. */
static void mpigo_clock_init(void)
{
	struct timespec r;
	if (clock_getres(CLOCK_MONOTONIC_COARSE, &r) != 0 || r.tv_sec > 0 || r.tv_nsec > 2000000)
		mpigo_clock = CLOCK_MONOTONIC;
}

/*
 * Blocking calls take a poll mode from Go:
 *   MPIGO_BLOCK  the blocking MPI call;
 *   MPIGO_POLL   the non-blocking call, completed with an MPI_Test loop (the
 *                self-wait workaround above);
 *   MPIGO_YIELD  the same, calling sched_yield between tests: ranks that
 *                outnumber the CPUs then let each other run, where a
 *                library's own busy wait (MPICH's) holds the CPU for a whole
 *                time slice (Open MPI yields by itself when oversubscribed).
 */
enum { MPIGO_BLOCK = 0, MPIGO_POLL = 1, MPIGO_YIELD = 2 };

static int mpigo_complete(MPI_Request *req, MPI_Status *st, int poll)
{
	int flag = 0, err;
	if (poll == MPIGO_BLOCK)
		return MPI_Wait(req, st);
	for (;;) {
		err = MPI_Test(req, &flag, st);
		if (err != MPI_SUCCESS || flag)
			return err;
		if (poll == MPIGO_YIELD)
			sched_yield();
	}
}

/* mpigo_complete for a request whose status nobody needs. */
static int mpigo_complete1(MPI_Request *req, int err, int poll)
{
	if (err != MPI_SUCCESS)
		return err;
	return mpigo_complete(req, MPI_STATUS_IGNORE, poll);
}

int mpigo_online_cpus(void) { return (int)sysconf(_SC_NPROCESSORS_ONLN); }

int mpigo_local_size(MPI_Comm comm)
{
	MPI_Comm local;
	int size = -1;
	if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) != MPI_SUCCESS)
		return -1;
	MPI_Comm_size(local, &size);
	MPI_Comm_free(&local);
	return size;
}

int mpigo_impl(void)
{
#if defined(OPEN_MPI) || defined(OMPI_MAJOR_VERSION)
	return MPIGO_IMPL_OPENMPI;
#elif defined(MPICH_VERSION) || defined(MPICH)
	return MPIGO_IMPL_MPICH;
#else
	return MPIGO_IMPL_OTHER;
#endif
}

static MPI_Datatype mpigo_dtype(int kind)
{
	switch (kind) {
	case MPIGO_INT8: return MPI_INT8_T;
	case MPIGO_INT16: return MPI_INT16_T;
	case MPIGO_INT32: return MPI_INT32_T;
	case MPIGO_INT64: return MPI_INT64_T;
	case MPIGO_UINT8: return MPI_UINT8_T;
	case MPIGO_UINT16: return MPI_UINT16_T;
	case MPIGO_UINT32: return MPI_UINT32_T;
	case MPIGO_UINT64: return MPI_UINT64_T;
	case MPIGO_FLOAT32: return MPI_FLOAT;
	case MPIGO_FLOAT64: return MPI_DOUBLE;
	case MPIGO_COMPLEX64: return MPI_C_FLOAT_COMPLEX;
	case MPIGO_COMPLEX128: return MPI_C_DOUBLE_COMPLEX;
	case MPIGO_BOOL: return MPI_C_BOOL;
	case MPIGO_BYTE: return MPI_BYTE;
	default: return MPI_DATATYPE_NULL;
	}
}

static MPI_Op mpigo_op(int op)
{
	switch (op) {
	case MPIGO_SUM: return MPI_SUM;
	case MPIGO_PROD: return MPI_PROD;
	case MPIGO_MAX: return MPI_MAX;
	case MPIGO_MIN: return MPI_MIN;
	case MPIGO_LAND: return MPI_LAND;
	case MPIGO_LOR: return MPI_LOR;
	case MPIGO_LXOR: return MPI_LXOR;
	case MPIGO_BAND: return MPI_BAND;
	case MPIGO_BOR: return MPI_BOR;
	case MPIGO_BXOR: return MPI_BXOR;
	default: return MPI_OP_NULL;
	}
}

/*
 * mpigo_status_bytes is the size in bytes of a received message: read from
 * the status's public fields where the implementation's mpi.h documents
 * them (what MPI_Get_count computes, without a call into the library, which
 * is a fifth of a short receive's overhead), else MPI_Get_elements_x.
 */
static MPI_Count mpigo_status_bytes(MPI_Status *st)
{
	MPI_Count n = 0;
#if defined(OPEN_MPI)
	n = (MPI_Count)st->_ucount;
#elif defined(MPICH_NUMVERSION)
	n = (MPI_Count)((((MPI_Count)(((unsigned int)st->count_hi_and_cancelled) >> 1)) << (8 * sizeof(int))) +
			(unsigned int)st->count_lo);
#else
	MPI_Get_elements_x(st, MPI_BYTE, &n);
#endif
	return n;
}

static mpigo_status mpigo_from_status(int err, MPI_Status *st)
{
	mpigo_status r;
	r.err = err;
	r.source = st->MPI_SOURCE;
	r.tag = st->MPI_TAG;
	r.bytes = err == MPI_SUCCESS ? (long long)mpigo_status_bytes(st) : 0;
	return r;
}

/* ---- environment ---- */

/* The thread that initialised MPI: MPI_Finalize must run on it. */
static pthread_t mpigo_init_thread;

/* Go's ThreadLevel (0..3) to MPI's constant, and back. */
int mpigo_thread_level(int level)
{
	switch (level) {
	case 0: return MPI_THREAD_SINGLE;
	case 1: return MPI_THREAD_FUNNELED;
	case 2: return MPI_THREAD_SERIALIZED;
	default: return MPI_THREAD_MULTIPLE;
	}
}

int mpigo_thread_code(int provided)
{
	if (provided == MPI_THREAD_MULTIPLE) return 3;
	if (provided == MPI_THREAD_SERIALIZED) return 2;
	if (provided == MPI_THREAD_FUNNELED) return 1;
	return 0;
}

mpigo_int mpigo_init(int required)
{
	mpigo_int r;
	int provided = MPI_THREAD_SINGLE;
	mpigo_init_thread = pthread_self();
	mpigo_clock_init();
	r.err = MPI_Init_thread(NULL, NULL, mpigo_thread_level(required), &provided);
	r.value = mpigo_thread_code(provided);
	if (r.err == MPI_SUCCESS) {
		MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
		MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
	}
	return r;
}

int mpigo_finalize(void) { return MPI_Finalize(); }

int mpigo_query_thread(void)
{
	int provided = MPI_THREAD_SINGLE;
	MPI_Query_thread(&provided);
	return mpigo_thread_code(provided);
}

int mpigo_is_thread_main(void)
{
	int flag = 0;
	MPI_Is_thread_main(&flag);
	return flag;
}

int mpigo_on_init_thread(void) { return pthread_equal(mpigo_init_thread, pthread_self()); }

int mpigo_initialized(void)
{
	int flag = 0;
	MPI_Initialized(&flag);
	return flag;
}

int mpigo_finalized(void)
{
	int flag = 0;
	MPI_Finalized(&flag);
	return flag;
}

/*
 * The Go runtime requires every signal handler to run on the alternate
 * signal stack (SA_ONSTACK): goroutine stacks are small. Some MPI stacks
 * (MPICH, UCX) install handlers without it; add the flag, keeping the handler.
 */
void mpigo_fix_signals(void)
{
	int sig;
	for (sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) != 0)
			continue;
		if ((sa.sa_flags & SA_SIGINFO) == 0 &&
		    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
			continue;
		if (sa.sa_flags & SA_ONSTACK)
			continue;
		sa.sa_flags |= SA_ONSTACK;
		sigaction(sig, &sa, NULL);
	}
}

double mpigo_wtime(void) { return MPI_Wtime(); }
double mpigo_wtick(void) { return MPI_Wtick(); }

int mpigo_processor_name(char *buf, int *len) { return MPI_Get_processor_name(buf, len); }
int mpigo_library_version(char *buf, int *len) { return MPI_Get_library_version(buf, len); }

int mpigo_error_string(int code, char *buf, int *len)
{
	return MPI_Error_string(code, buf, len);
}

int mpigo_error_class(int code)
{
	int cls = MPI_ERR_UNKNOWN;
	MPI_Error_class(code, &cls);
	return cls;
}

int mpigo_abort(MPI_Comm comm, int code) { return MPI_Abort(comm, code); }
int mpigo_any_source(void) { return MPI_ANY_SOURCE; }
int mpigo_any_tag(void) { return MPI_ANY_TAG; }
int mpigo_proc_null(void) { return MPI_PROC_NULL; }
int mpigo_undefined(void) { return MPI_UNDEFINED; }
int mpigo_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
int mpigo_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
int mpigo_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }

int mpigo_type_size(int kind)
{
	int size = -1;
	MPI_Datatype dt = mpigo_dtype(kind);
	if (dt == MPI_DATATYPE_NULL || MPI_Type_size(dt, &size) != MPI_SUCCESS)
		return -1;
	return size;
}

/* ---- communicators ---- */

MPI_Comm mpigo_comm_world(void) { return MPI_COMM_WORLD; }
MPI_Comm mpigo_comm_self(void) { return MPI_COMM_SELF; }
uintptr_t mpigo_comm_handle(MPI_Comm comm) { return (uintptr_t)comm; }

int mpigo_comm_is_null(MPI_Comm comm) { return comm == MPI_COMM_NULL; }
int mpigo_comm_rank(MPI_Comm comm, int *rank) { return MPI_Comm_rank(comm, rank); }
int mpigo_comm_size(MPI_Comm comm, int *size) { return MPI_Comm_size(comm, size); }

mpigo_comm mpigo_comm_split(MPI_Comm comm, int color, int key)
{
	mpigo_comm r;
	r.comm = MPI_COMM_NULL;
	r.err = MPI_Comm_split(comm, color, key, &r.comm);
	if (r.err == MPI_SUCCESS && r.comm != MPI_COMM_NULL)
		MPI_Comm_set_errhandler(r.comm, MPI_ERRORS_RETURN);
	return r;
}

mpigo_comm mpigo_comm_dup(MPI_Comm comm)
{
	mpigo_comm r;
	r.comm = MPI_COMM_NULL;
	r.err = MPI_Comm_dup(comm, &r.comm);
	if (r.err == MPI_SUCCESS)
		MPI_Comm_set_errhandler(r.comm, MPI_ERRORS_RETURN);
	return r;
}

int mpigo_comm_free(MPI_Comm comm) { return MPI_Comm_free(&comm); }

mpigo_int mpigo_tag_ub(MPI_Comm comm)
{
	mpigo_int r;
	int *v = NULL, flag = 0;
	r.err = MPI_Comm_get_attr(comm, MPI_TAG_UB, &v, &flag);
	r.value = (r.err == MPI_SUCCESS && flag && v) ? *v : 32767;
	return r;
}

/* ---- point to point ---- */

int mpigo_send(uintptr_t buf, int count, int kind, int dest, int tag, uintptr_t ch, int poll)
{
	MPI_Comm comm = (MPI_Comm)ch;
	MPI_Request req;
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Send((const void *)buf, count, mpigo_dtype(kind), dest, tag, comm);
	return mpigo_complete1(&req, MPI_Isend((const void *)buf, count, mpigo_dtype(kind), dest, tag, comm, &req),
			       poll);
}

mpigo_status mpigo_recv(uintptr_t buf, int count, int kind, int source, int tag, uintptr_t ch,
			int poll)
{
	MPI_Comm comm = (MPI_Comm)ch;
	MPI_Status st;
	MPI_Request req;
	int err;
	mpigo_tick();
	if (poll == MPIGO_BLOCK) {
		err = MPI_Recv((void *)buf, count, mpigo_dtype(kind), source, tag, comm, &st);
	} else {
		err = MPI_Irecv((void *)buf, count, mpigo_dtype(kind), source, tag, comm, &req);
		if (err == MPI_SUCCESS)
			err = mpigo_complete(&req, &st, poll);
	}
	return mpigo_from_status(err, &st);
}

mpigo_status mpigo_sendrecv(uintptr_t sbuf, int scount, int skind, int dest, int stag,
			    uintptr_t rbuf, int rcount, int rkind, int source, int rtag, uintptr_t ch,
			    int poll)
{
	MPI_Comm comm = (MPI_Comm)ch;
	MPI_Status st;
	MPI_Request reqs[2];
	int err;
	mpigo_tick();
	if (poll == MPIGO_BLOCK) {
		err = MPI_Sendrecv((const void *)sbuf, scount, mpigo_dtype(skind), dest, stag, (void *)rbuf, rcount,
				   mpigo_dtype(rkind), source, rtag, comm, &st);
		return mpigo_from_status(err, &st);
	}
	err = MPI_Irecv((void *)rbuf, rcount, mpigo_dtype(rkind), source, rtag, comm, &reqs[0]);
	if (err != MPI_SUCCESS)
		return mpigo_from_status(err, &st);
	err = MPI_Isend((const void *)sbuf, scount, mpigo_dtype(skind), dest, stag, comm, &reqs[1]);
	if (err != MPI_SUCCESS) {
		MPI_Cancel(&reqs[0]);
		MPI_Request_free(&reqs[0]);
		return mpigo_from_status(err, &st);
	}
	err = mpigo_complete(&reqs[1], MPI_STATUS_IGNORE, poll);
	if (err == MPI_SUCCESS)
		err = mpigo_complete(&reqs[0], &st, poll);
	return mpigo_from_status(err, &st);
}

mpigo_status mpigo_probe(int source, int tag, MPI_Comm comm, int poll)
{
	MPI_Status st;
	int err, flag = 0;
	mpigo_tick();
	if (poll == MPIGO_BLOCK) {
		err = MPI_Probe(source, tag, comm, &st);
	} else {
		for (;;) {
			err = MPI_Iprobe(source, tag, comm, &flag, &st);
			if (err != MPI_SUCCESS || flag)
				break;
			if (poll == MPIGO_YIELD)
				sched_yield();
		}
	}
	return mpigo_from_status(err, &st);
}

mpigo_test mpigo_iprobe(int source, int tag, MPI_Comm comm)
{
	mpigo_test r;
	MPI_Status st;
	int flag = 0;
	int err;
	mpigo_tick();
	err = MPI_Iprobe(source, tag, comm, &flag, &st);
	r.done = flag;
	if (err == MPI_SUCCESS && flag) {
		r.st = mpigo_from_status(err, &st);
	} else {
		memset(&r.st, 0, sizeof r.st);
		r.st.err = err;
	}
	return r;
}

mpigo_mprobe mpigo_mprobe_any(int source, int tag, MPI_Comm comm, int poll)
{
	mpigo_mprobe r;
	MPI_Status st;
	int err, flag = 0;
	r.msg = MPI_MESSAGE_NULL;
	mpigo_tick();
	if (poll == MPIGO_BLOCK) {
		err = MPI_Mprobe(source, tag, comm, &r.msg, &st);
	} else {
		for (;;) {
			err = MPI_Improbe(source, tag, comm, &flag, &r.msg, &st);
			if (err != MPI_SUCCESS || flag)
				break;
			if (poll == MPIGO_YIELD)
				sched_yield();
		}
	}
	r.st = mpigo_from_status(err, &st);
	return r;
}

mpigo_status mpigo_mrecv(void *buf, int count, int kind, MPI_Message msg, int poll)
{
	MPI_Status st;
	MPI_Request req;
	int err;
	mpigo_tick();
	if (poll == MPIGO_BLOCK) {
		err = MPI_Mrecv(buf, count, mpigo_dtype(kind), &msg, &st);
	} else {
		err = MPI_Imrecv(buf, count, mpigo_dtype(kind), &msg, &req);
		if (err == MPI_SUCCESS)
			err = mpigo_complete(&req, &st, poll);
	}
	return mpigo_from_status(err, &st);
}

mpigo_req mpigo_isend(uintptr_t buf, int count, int kind, int dest, int tag, uintptr_t ch)
{
	MPI_Comm comm = (MPI_Comm)ch;
	MPI_Request req = MPI_REQUEST_NULL;
	mpigo_req r;
	r.err = MPI_Isend((const void *)buf, count, mpigo_dtype(kind), dest, tag, comm, &req);
	r.req = (uintptr_t)req;
	return r;
}

mpigo_req mpigo_irecv(uintptr_t buf, int count, int kind, int source, int tag, uintptr_t ch)
{
	MPI_Comm comm = (MPI_Comm)ch;
	MPI_Request req = MPI_REQUEST_NULL;
	mpigo_req r;
	r.err = MPI_Irecv((void *)buf, count, mpigo_dtype(kind), source, tag, comm, &req);
	r.req = (uintptr_t)req;
	return r;
}

mpigo_test mpigo_wait(uintptr_t rh, int poll)
{
	MPI_Request req = (MPI_Request)rh;
	mpigo_test r;
	MPI_Status st;
	int err;
	mpigo_tick();
	err = mpigo_complete(&req, &st, poll);
	r.st = mpigo_from_status(err, &st);
	r.done = 1;
	return r;
}

mpigo_test mpigo_test_req(uintptr_t rh)
{
	MPI_Request req = (MPI_Request)rh;
	mpigo_test r;
	MPI_Status st;
	int flag = 0;
	int err;
	mpigo_tick();
	err = MPI_Test(&req, &flag, &st);
	r.done = flag;
	if (flag || err != MPI_SUCCESS)
		r.st = mpigo_from_status(err, &st);
	else
		memset(&r.st, 0, sizeof r.st);
	return r;
}

/*
 * Every request is completed on its own (MPI_Wait or the poll loop), not by
 * MPI_Waitall, whose error handling differs and fails: when one request
 * fails (a truncation) while another is still pending, Open MPI 4.1.4's
 * MPI_Waitall never returns, and MPICH 4.0.2's returns at once with the
 * others marked MPI_ERR_PENDING, still owned by MPI. One by one, each
 * request reports its own outcome and none is left pending; the order does
 * not matter, since any wait progresses them all.
 */
int mpigo_waitall(int n, uintptr_t *reqs, mpigo_status *out, int poll)
{
	int i, err = MPI_SUCCESS;
	MPI_Status one;
	mpigo_tick();
	for (i = 0; i < n; i++) {
		MPI_Request req = (MPI_Request)reqs[i];
		int e = mpigo_complete(&req, &one, poll);
		out[i] = mpigo_from_status(e, &one);
		if (e != MPI_SUCCESS && err == MPI_SUCCESS)
			err = e;
	}
	return err;
}

/* ---- collectives; poll as for point to point (MPI_I<collective>) ---- */

int mpigo_barrier(MPI_Comm comm, int poll)
{
	MPI_Request req;
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Barrier(comm);
	return mpigo_complete1(&req, MPI_Ibarrier(comm, &req), poll);
}

int mpigo_bcast(uintptr_t buf, int count, int kind, int root, uintptr_t ch, int poll)
{
	MPI_Comm comm = (MPI_Comm)ch;
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Bcast((void *)buf, count, dt, root, comm);
	return mpigo_complete1(&req, MPI_Ibcast((void *)buf, count, dt, root, comm, &req), poll);
}

int mpigo_scatter(const void *sbuf, void *rbuf, int count, int kind, int root, MPI_Comm comm,
		  int poll)
{
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Scatter(sbuf, count, dt, rbuf, count, dt, root, comm);
	return mpigo_complete1(&req, MPI_Iscatter(sbuf, count, dt, rbuf, count, dt, root, comm, &req),
			       poll);
}

int mpigo_gather(const void *sbuf, void *rbuf, int count, int kind, int root, MPI_Comm comm,
		 int poll)
{
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Gather(sbuf, count, dt, rbuf, count, dt, root, comm);
	return mpigo_complete1(&req, MPI_Igather(sbuf, count, dt, rbuf, count, dt, root, comm, &req),
			       poll);
}

int mpigo_allgather(const void *sbuf, void *rbuf, int count, int kind, MPI_Comm comm, int poll)
{
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Allgather(sbuf, count, dt, rbuf, count, dt, comm);
	return mpigo_complete1(&req, MPI_Iallgather(sbuf, count, dt, rbuf, count, dt, comm, &req),
			       poll);
}

int mpigo_reduce(uintptr_t sb, uintptr_t rb, int count, int kind, int op, int inplace, int root,
		 uintptr_t ch, int poll)
{
	MPI_Comm comm = (MPI_Comm)ch;
	const void *sbuf = (const void *)sb;
	void *rbuf = (void *)rb;
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	void *tmp = NULL;
	int err;
	mpigo_tick();
	if (inplace) {
		sbuf = MPI_IN_PLACE;
#if MPIGO_INPLACE_REDUCE_BUG
		/* Go sets inplace on the root only */
		if (root != 0 && count > 0) {
			int size = 0;
			MPI_Type_size(dt, &size);
			tmp = malloc((size_t)count * (size_t)size);
			if (tmp == NULL)
				return MPI_ERR_NO_MEM;
			memcpy(tmp, rbuf, (size_t)count * (size_t)size);
			sbuf = tmp;
		}
#endif
	}
	if (poll == MPIGO_BLOCK)
		err = MPI_Reduce(sbuf, rbuf, count, dt, mpigo_op(op), root, comm);
	else
		err = mpigo_complete1(
		    &req, MPI_Ireduce(sbuf, rbuf, count, dt, mpigo_op(op), root, comm, &req), poll);
	free(tmp);
	return err;
}

int mpigo_allreduce(uintptr_t sb, uintptr_t rb, int count, int kind, int op, int inplace,
		    uintptr_t ch, int poll)
{
	MPI_Comm comm = (MPI_Comm)ch;
	const void *sbuf = (const void *)sb;
	void *rbuf = (void *)rb;
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (inplace)
		sbuf = MPI_IN_PLACE;
	if (poll == MPIGO_BLOCK)
		return MPI_Allreduce(sbuf, rbuf, count, dt, mpigo_op(op), comm);
	return mpigo_complete1(&req, MPI_Iallreduce(sbuf, rbuf, count, dt, mpigo_op(op), comm, &req),
			       poll);
}

/*
 * The v-collectives take counts and displacements in elements of kind (the
 * object calls pass MPIGO_BYTE). Go checks them all (C int range, within the
 * buffers) before the call; arrays that MPI ignores (counts and
 * displacements on ranks other than root) may be NULL.
 */
int mpigo_scatterv(const void *sbuf, const int *counts, const int *displs, void *rbuf,
		   int rcount, int kind, int root, MPI_Comm comm, int poll)
{
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Scatterv(sbuf, counts, displs, dt, rbuf, rcount, dt, root, comm);
	return mpigo_complete1(
	    &req, MPI_Iscatterv(sbuf, counts, displs, dt, rbuf, rcount, dt, root, comm, &req), poll);
}

int mpigo_gatherv(const void *sbuf, int scount, void *rbuf, const int *counts,
		  const int *displs, int kind, int root, MPI_Comm comm, int poll)
{
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Gatherv(sbuf, scount, dt, rbuf, counts, displs, dt, root, comm);
	return mpigo_complete1(
	    &req, MPI_Igatherv(sbuf, scount, dt, rbuf, counts, displs, dt, root, comm, &req), poll);
}

int mpigo_allgatherv(const void *sbuf, int scount, void *rbuf, const int *counts,
		     const int *displs, int kind, MPI_Comm comm, int poll)
{
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Allgatherv(sbuf, scount, dt, rbuf, counts, displs, dt, comm);
	return mpigo_complete1(
	    &req, MPI_Iallgatherv(sbuf, scount, dt, rbuf, counts, displs, dt, comm, &req), poll);
}

int mpigo_alltoall(const void *sbuf, void *rbuf, int count, int kind, MPI_Comm comm, int poll)
{
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Alltoall(sbuf, count, dt, rbuf, count, dt, comm);
	return mpigo_complete1(&req, MPI_Ialltoall(sbuf, count, dt, rbuf, count, dt, comm, &req),
			       poll);
}

int mpigo_alltoallv(const void *sbuf, const int *scounts, const int *sdispls, void *rbuf,
		    const int *rcounts, const int *rdispls, int kind, MPI_Comm comm, int poll)
{
	MPI_Request req;
	MPI_Datatype dt = mpigo_dtype(kind);
	mpigo_tick();
	if (poll == MPIGO_BLOCK)
		return MPI_Alltoallv(sbuf, scounts, sdispls, dt, rbuf, rcounts, rdispls, dt, comm);
	return mpigo_complete1(&req,
			       MPI_Ialltoallv(sbuf, scounts, sdispls, dt, rbuf, rcounts, rdispls, dt,
					      comm, &req),
			       poll);
}

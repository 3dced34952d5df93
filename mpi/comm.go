package mpi

// #include "mpigo.h"
import "C"

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// Comm is a communicator: a group of ranks that talk to each other (mpi4py's
// MPI.Comm). World holds every process; Split and Dup make new ones. A Comm
// may be used from several goroutines at once as the thread level allows
// (see the package doc); Free must not race with its use.
//
//	comm := mpi.World
//	if comm.Rank() == 0 {
//		comm.Send([]float64{1, 2, 3}, 1, 0)
//	} else if comm.Rank() == 1 {
//		buf := make([]float64, 3)
//		comm.Recv(buf, 0, 0)
//	}
type Comm struct {
	c     C.MPI_Comm
	h     C.uintptr_t // c as the hot C helpers take it
	rank  int
	size  int
	name  string // "World", "Self" or "" for diagnostics
	freed bool
}

// Status describes a received or probed message (MPI_Status).
//
//	st := comm.Recv(buf, mpi.AnySource, mpi.AnyTag)
//	fmt.Printf("%d elements from rank %d with tag %d\n", st.Count, st.Source, st.Tag)
type Status struct {
	Source int // rank of the sender (the destination, for a completed Isend)
	Tag    int // tag of the message
	// Count is the number of elements received (Recv, Sendrecv, Irecv) or
	// sent (Isend); for Probe and Iprobe, which know no element type, and
	// for the object calls, it is the size of the message in bytes.
	Count int
	bytes int
}

// CountOf returns how many elements of buf's element type the message holds
// (mpi4py's status.Get_count(datatype)); buf may be a nil slice of the type.
// With Probe it sizes the receive buffer.
//
//	st := comm.Probe(0, 0)
//	buf := make([]float64, st.CountOf([]float64(nil)))
//	comm.Recv(buf, 0, 0)
func (s Status) CountOf(buf any) int {
	b := bufferOf("Status.CountOf", "buf", buf)
	return s.bytes >> kindShift[b.k]
}

// procNullStatus is what a receive from ProcNull gets (as MPI specifies;
// MPICH's MPI_Test fills in something else).
var procNullStatus = Status{Source: ProcNull, Tag: AnyTag}

// status converts a C status; shift is log2 of the element size. MPI's
// special values (MPI_PROC_NULL, MPI_ANY_TAG: a probe of ProcNull) become
// the package's.
func status(st C.mpigo_status, shift uint8) Status {
	n := int(st.bytes)
	s := Status{Source: int(st.source), Tag: int(st.tag), Count: n >> shift, bytes: n}
	if st.source < 0 {
		s.Source = goRank(st.source)
	}
	if st.tag < 0 {
		s.Tag = goTag(st.tag)
	}
	return s
}

// ---- special ranks and tags: the package's values to MPI's and back ----

// cRank is a checked rank (dest, source) as MPI wants it: AnySource and
// ProcNull become MPI_ANY_SOURCE and MPI_PROC_NULL.
func cRank(r int) C.int {
	if r >= 0 {
		return C.int(r)
	}
	switch r {
	case ProcNull:
		return cProcNull
	case AnySource:
		return cAnySource
	}
	return C.int(r) // unreachable after the checks; MPI reports it
}

// cTag is a checked tag as MPI wants it: AnyTag becomes MPI_ANY_TAG.
func cTag(t int) C.int {
	if t == AnyTag {
		return cAnyTag
	}
	return C.int(t)
}

// goRank is a rank from MPI (a status) as the package writes it.
func goRank(r C.int) int {
	switch r {
	case cProcNull:
		return ProcNull
	case cAnySource:
		return AnySource
	}
	return int(r)
}

// goTag is a tag from MPI (a status) as the package writes it.
func goTag(t C.int) int {
	if t == cAnyTag {
		return AnyTag
	}
	return int(t)
}

// rankStr formats a rank for messages, naming the special ones.
func rankStr(r int) string {
	switch r {
	case AnySource:
		return "mpi.AnySource"
	case ProcNull:
		return "mpi.ProcNull"
	case AnyTag:
		return "mpi.AnyTag"
	case Undefined:
		return "mpi.Undefined"
	}
	return strconv.Itoa(r)
}

// tagStr formats a tag for messages, naming the special ones.
func tagStr(t int) string { return rankStr(t) }

// ---- checks ----

func (c *Comm) check(call string) {
	if c == nil {
		panic(usage(call, "", "called on a nil *Comm; Split returns nil on ranks whose color is mpi.Undefined"))
	}
	if state.Load() != stateRunning {
		checkRunning(call)
	}
	if c.freed {
		panic(usage(call, "", "the communicator was freed with Free; use it before freeing it"))
	}
}

func (c *Comm) describe() string {
	if c.name != "" {
		return c.name
	}
	return "the communicator"
}

// The rank and tag checks are a compare or two on the fast path (uint
// conversion folds the test for < 0 into the upper bound); the messages are
// built out of line.

func (c *Comm) checkDest(call string, dest int) {
	if uint(dest) >= uint(c.size) && dest != ProcNull {
		c.rankError(call, "dest", dest, " (or mpi.ProcNull for a no-op)")
	}
}

func (c *Comm) checkSource(call string, source int) {
	if uint(source) >= uint(c.size) && source != AnySource && source != ProcNull {
		c.rankError(call, "source", source, " (or mpi.AnySource, mpi.ProcNull)")
	}
}

func (c *Comm) checkRoot(call string, root int) {
	if uint(root) >= uint(c.size) {
		c.rankError(call, "root", root, "; every rank must pass the same root")
	}
}

// rankError panics for a rank out of range, with a hint for the usual
// causes: a negative rank from (rank-1)%size, Size() from rank+1, or a
// special value where it does not apply.
func (c *Comm) rankError(call, arg string, r int, also string) {
	what, hint := "rank "+rankStr(r)+" is out of range", ""
	switch {
	case r == AnySource:
		what = "mpi.AnySource is not allowed here"
		hint = "; AnySource only widens what a receive or probe accepts (its source), it is no rank to send to"
	case r == ProcNull:
		what = "mpi.ProcNull is not allowed here"
	case r == AnyTag:
		what = "mpi.AnyTag is a tag, not a rank"
	case r == Undefined:
		what = "mpi.Undefined is a Split color, not a rank"
	case r < 0:
		hint = "; a negative rank often comes from (rank-1)%size: Go's % keeps the sign of the left operand (-1%size is -1, not size-1 as in Python), so write (rank-1+size)%size"
	case r == c.size:
		hint = "; rank+1 on the last rank needs (rank+1)%size to wrap around"
	}
	panic(usagef(call, arg, "%s: %s has %d rank(s), 0..%d; use a rank from 0 to comm.Size()-1%s%s",
		what, c.describe(), c.size, c.size-1, also, hint))
}

// checkTag checks a tag: 0..MPI_TAG_UB, or AnyTag if recv (a receive or
// probe).
func checkTag(call, arg string, tag int, recv bool) {
	if uint(tag) > uint(tagUB) && (!recv || tag != AnyTag) {
		tagError(call, arg, tag, recv)
	}
}

func tagError(call, arg string, tag int, recv bool) {
	what, also, hint := tagStr(tag)+" is out of range", "", ""
	if recv {
		also = ", or mpi.AnyTag to match any tag"
	}
	switch {
	case tag == AnyTag:
		what = "mpi.AnyTag is not allowed here"
		hint = "; AnyTag only widens what a receive or probe accepts, a send needs a definite tag"
	case tag == AnySource || tag == ProcNull || tag == Undefined:
		what = tagStr(tag) + " is not a tag"
	case tag < 0:
		hint = "; tags are never negative: a negative tag usually comes from arithmetic such as step-1 or (rank-1)%size (Go's % keeps the sign of the left operand)"
		if recv {
			hint += "; to match any tag, write mpi.AnyTag"
		}
	}
	panic(usagef(call, arg, "%s: MPI tags go from 0 to MPI_TAG_UB = %d%s%s", what, tagUB, also, hint))
}

func sameKind(call, arg string, want, got buffer, wantBuf, gotBuf any) {
	if want.k != got.k {
		other := "send"
		if arg == "send" {
			other = "recv"
		}
		panic(usagef(call, arg, "is %s but %s is %s: both must have the same element type", typeName(gotBuf), other, typeName(wantBuf)))
	}
}

// How C completes a blocking call (see mpigo.c).
const (
	pollBlock C.int = 0 // the blocking MPI call
	pollTest  C.int = 1 // the non-blocking call and an MPI_Test loop
	pollYield C.int = 2 // the same, yielding the CPU between tests
)

// selfWaitBug: the library loses the wake-up of a thread blocked on a
// message from its own rank sent by another thread (MPICH; see mpigo.c).
var selfWaitBug = C.mpigo_self_wait_bug() != 0

// mode is how blocking sends and collectives complete: pollYield when the
// ranks outnumber the CPUs of their node and the library would busy-wait
// without yielding (set by Init; see the package doc on MPIGO_YIELD).
func mode() C.int {
	if yieldWait {
		return pollYield
	}
	return pollBlock
}

// recvMode is mode for a receive from source, which polls where
// selfWaitBug could make a blocking wait hang.
func (c *Comm) recvMode(source int) C.int {
	if yieldWait {
		return pollYield
	}
	if selfWaitBug && provided == ThreadMultiple && (source == AnySource || source == c.rank) {
		return pollTest
	}
	return pollBlock
}

// resched passes the calling goroutine through the Go scheduler when the
// C helpers say that a few milliseconds of MPI calls went by (see
// mpigo_tick in mpigo.c): without it, Go's sysmon would interrupt a rank
// that does nothing but MPI calls 50000 times a second. The flag is read as
// plain memory, without a cgo call.
func resched() {
	if atomic.LoadInt32(yieldDue) != 0 {
		atomic.StoreInt32(yieldDue, 0)
		runtime.Gosched()
	}
}

// yieldDue is mpigo_yield_due, which C sets and Go clears (atomically on
// both sides: goroutines on several threads read it).
var yieldDue = (*int32)(unsafe.Pointer(&C.mpigo_yield_due))

// fail panics with the MPI error for code.
func (c *Comm) fail(code C.int, format string, args ...any) {
	panic(mpiError(int(code), World.rank, fmt.Sprintf(format, args...)))
}

// ---- environment ----

// Rank returns the rank of the calling process in the communicator, from 0
// to Size()-1 (mpi4py's comm.Get_rank()).
//
//	if mpi.World.Rank() == 0 {
//		fmt.Println("I am the root")
//	}
func (c *Comm) Rank() int {
	c.check("Comm.Rank")
	return c.rank
}

// Size returns the number of ranks in the communicator (comm.Get_size()).
//
//	n := mpi.World.Size()
//	chunk := total / n
func (c *Comm) Size() int {
	c.check("Comm.Size")
	return c.size
}

// Barrier blocks until every rank of the communicator has called it
// (comm.Barrier()).
//
//	t0 := mpi.Wtime()
//	comm.Barrier()
func (c *Comm) Barrier() {
	c.check("Comm.Barrier")
	if e := C.mpigo_barrier(c.c, mode()); e != 0 {
		c.fail(e, "Comm.Barrier()")
	}
	resched()
}

// Abort terminates every process of the job with the given exit code
// (comm.Abort(code)); it does not return. Use it when one rank finds an
// error the others cannot know about.
//
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err)
//		mpi.World.Abort(1)
//	}
func (c *Comm) Abort(code int) {
	if c == nil {
		c = World
	}
	if code < 0 || code > 255 {
		// The launcher reports the code modulo 256: 256 would end the job
		// as a success.
		panic(usagef("Comm.Abort", "code", "%d is not an exit status; use 1..255 (the job ends with code %% 256, so %d would report %d)", code, code, code&255))
	}
	if state.Load() == stateRunning && !c.freed {
		C.mpigo_abort(c.c, C.int(code))
	}
	os.Exit(code)
}

// Split partitions the communicator: ranks that pass the same color get a
// new communicator together, ordered by key, then by their old rank
// (comm.Split(color, key)). A rank that passes mpi.Undefined as color gets
// nil. Every rank must call it. Free the result when done with it.
//
//	row := comm.Split(comm.Rank()/4, comm.Rank()) // rows of 4
//	defer row.Free()
//	row.Allreduce(local, rowSum, mpi.Sum)
func (c *Comm) Split(color, key int) *Comm {
	const call = "Comm.Split"
	c.check(call)
	if color < 0 && color != Undefined {
		panic(usagef(call, "color", "%d is negative; colors are >= 0, or mpi.Undefined to get no communicator", color))
	}
	// MPI takes C ints: a larger color or key (a hash, say) would be cut to
	// its low 32 bits and put ranks in the wrong communicators.
	if color > math.MaxInt32 {
		panic(usagef(call, "color", "%d is more than an MPI color can hold (%d); use a small non-negative int, e.g. hash %% n for n groups", color, math.MaxInt32))
	}
	if key < math.MinInt32 || key > math.MaxInt32 {
		panic(usagef(call, "key", "%d is beyond what an MPI key can hold (%d..%d); keys only order the ranks: use the rank, or a small int", key, math.MinInt32, math.MaxInt32))
	}
	r := C.mpigo_comm_split(c.c, C.int(color), C.int(key))
	if r.err != 0 {
		c.fail(r.err, "Comm.Split(color=%d, key=%d)", color, key)
	}
	if C.mpigo_comm_is_null(r.comm) != 0 {
		return nil
	}
	return newComm(r.comm, call)
}

// Dup returns a new communicator with the same ranks (comm.Dup()): messages
// and collectives on it never mix with those on c, so a library or a
// goroutine can have its own. Every rank must call it. Free it when done.
//
//	mine := comm.Dup()
//	defer mine.Free()
//	go func() { mine.Bcast(buf, 0) }()
func (c *Comm) Dup() *Comm {
	const call = "Comm.Dup"
	c.check(call)
	r := C.mpigo_comm_dup(c.c)
	if r.err != 0 {
		c.fail(r.err, "Comm.Dup()")
	}
	return newComm(r.comm, call)
}

func newComm(h C.MPI_Comm, call string) *Comm {
	n := &Comm{c: h, h: C.mpigo_comm_handle(h)}
	var rank, size C.int
	if e := C.mpigo_comm_rank(h, &rank); e != 0 {
		n.fail(e, "%s (MPI_Comm_rank)", call)
	}
	if e := C.mpigo_comm_size(h, &size); e != 0 {
		n.fail(e, "%s (MPI_Comm_size)", call)
	}
	n.rank, n.size = int(rank), int(size)
	return n
}

// Free releases a communicator made by Split or Dup (comm.Free()); every
// rank in it must call it. World and Self cannot be freed. Calling Free on
// nil (what Split returns for mpi.Undefined) is a no-op.
//
//	sub := comm.Split(color, 0)
//	defer sub.Free()
func (c *Comm) Free() {
	const call = "Comm.Free"
	if c == nil {
		return
	}
	c.check(call)
	if c == World || c == Self || c.name != "" {
		panic(usage(call, "", "World and Self cannot be freed; free only communicators made by Split or Dup"))
	}
	if e := C.mpigo_comm_free(c.c); e != 0 {
		c.fail(e, "Comm.Free()")
	}
	c.freed = true
}

// ---- point to point ----

// Send sends buf to rank dest with the given tag and returns once buf may be
// reused (comm.Send([buf, MPI.DOUBLE], dest, tag)). buf is a slice of a
// number type, bool or byte, or a pointer to one such value; it is passed to
// MPI without copying. For any other Go value use SendObj.
//
//	comm.Send([]float64{1, 2, 3}, 1, 0)
func (c *Comm) Send(buf any, dest, tag int) {
	const call = "Comm.Send"
	c.check(call)
	b := bufferOf(call, "buf", buf)
	c.checkDest(call, dest)
	checkTag(call, "tag", tag, false)
	e := C.mpigo_send(b.addr(), b.count(call, "buf"), C.int(b.k), cRank(dest), C.int(tag), c.h, mode())
	runtime.KeepAlive(buf)
	if e != 0 {
		c.fail(e, "Comm.Send(%d x %s, dest=%s, tag=%d)", b.n, kindName[b.k], rankStr(dest), tag)
	}
	resched()
}

// Recv receives a message from rank source (or mpi.AnySource) with the
// given tag (or mpi.AnyTag) into buf, which must be large enough: a longer
// message panics with MPI's truncation error. The Status says who sent it,
// its tag, and how many elements arrived (comm.Recv(buf, source, tag, status)).
//
//	buf := make([]float64, 100)
//	st := comm.Recv(buf, mpi.AnySource, 0)
//	data := buf[:st.Count]
func (c *Comm) Recv(buf any, source, tag int) Status {
	const call = "Comm.Recv"
	c.check(call)
	b := bufferOf(call, "buf", buf)
	c.checkSource(call, source)
	checkTag(call, "tag", tag, true)
	st := C.mpigo_recv(b.addr(), b.count(call, "buf"), C.int(b.k), cRank(source), cTag(tag), c.h, c.recvMode(source))
	runtime.KeepAlive(buf)
	if st.err != 0 {
		c.fail(st.err, "Comm.Recv(%d x %s, source=%s, tag=%s)", b.n, kindName[b.k], rankStr(source), tagStr(tag))
	}
	resched()
	if source == ProcNull {
		return procNullStatus
	}
	return status(st, kindShift[b.k])
}

// Sendrecv sends send to dest and receives into recv from source in one
// call that cannot deadlock against the matching Sendrecv of the peer
// (comm.Sendrecv): the usual way to exchange halos or shift data around a
// ring. The element types of send and recv may differ.
//
//	right, left := (rank+1)%size, (rank-1+size)%size
//	comm.Sendrecv(mine, right, 0, theirs, left, 0)
func (c *Comm) Sendrecv(send any, dest, sendTag int, recv any, source, recvTag int) Status {
	const call = "Comm.Sendrecv"
	c.check(call)
	s := bufferOf(call, "send", send)
	r := bufferOf(call, "recv", recv)
	c.checkDest(call, dest)
	c.checkSource(call, source)
	checkTag(call, "sendTag", sendTag, false)
	checkTag(call, "recvTag", recvTag, true)
	if sameMemory(call, s, r) {
		panic(usage(call, "recv", "is the same memory as send; Sendrecv needs two separate buffers"))
	}
	st := C.mpigo_sendrecv(s.addr(), s.count(call, "send"), C.int(s.k), cRank(dest), C.int(sendTag),
		r.addr(), r.count(call, "recv"), C.int(r.k), cRank(source), cTag(recvTag), c.h, c.recvMode(source))
	runtime.KeepAlive(send)
	runtime.KeepAlive(recv)
	if st.err != 0 {
		c.fail(st.err, "Comm.Sendrecv(dest=%s, sendTag=%d, source=%s, recvTag=%s)", rankStr(dest), sendTag, rankStr(source), tagStr(recvTag))
	}
	resched()
	if source == ProcNull {
		return procNullStatus
	}
	return status(st, kindShift[r.k])
}

// Probe waits for a message from source (or mpi.AnySource) with tag (or
// mpi.AnyTag) without receiving it (comm.Probe). Status.Count is its size
// in bytes; CountOf converts to elements. When two goroutines may receive
// from the same source and tag, the message probed by one can be received
// by the other: use RecvObj, which probes and receives atomically. A probe
// of ProcNull returns at once: Source ProcNull, Tag AnyTag, Count 0.
//
//	st := comm.Probe(mpi.AnySource, 0)
//	buf := make([]int, st.CountOf([]int(nil)))
//	comm.Recv(buf, st.Source, st.Tag)
func (c *Comm) Probe(source, tag int) Status {
	const call = "Comm.Probe"
	c.check(call)
	c.checkSource(call, source)
	checkTag(call, "tag", tag, true)
	st := C.mpigo_probe(cRank(source), cTag(tag), c.c, c.recvMode(source))
	if st.err != 0 {
		c.fail(st.err, "Comm.Probe(source=%s, tag=%s)", rankStr(source), tagStr(tag))
	}
	resched()
	return status(st, 0)
}

// Iprobe is Probe that does not wait (comm.Iprobe): ok reports whether a
// matching message is waiting, and Status describes it if so.
//
//	if st, ok := comm.Iprobe(mpi.AnySource, mpi.AnyTag); ok {
//		fmt.Println("message waiting from", st.Source)
//	}
func (c *Comm) Iprobe(source, tag int) (st Status, ok bool) {
	const call = "Comm.Iprobe"
	c.check(call)
	c.checkSource(call, source)
	checkTag(call, "tag", tag, true)
	r := C.mpigo_iprobe(cRank(source), cTag(tag), c.c)
	if r.st.err != 0 {
		c.fail(r.st.err, "Comm.Iprobe(source=%s, tag=%s)", rankStr(source), tagStr(tag))
	}
	resched()
	if r.done == 0 {
		return Status{}, false
	}
	return status(r.st, 0), true
}

// ---- collectives ----

// Bcast sends buf from root to every other rank, where it is received into
// buf (comm.Bcast(buf, root)). Every rank passes a buffer of the same length
// and type.
//
//	params := make([]float64, 3)
//	if comm.Rank() == 0 {
//		copy(params, []float64{0.1, 0.2, 0.3})
//	}
//	comm.Bcast(params, 0)
func (c *Comm) Bcast(buf any, root int) {
	const call = "Comm.Bcast"
	c.check(call)
	b := bufferOf(call, "buf", buf)
	c.checkRoot(call, root)
	e := C.mpigo_bcast(b.addr(), b.count(call, "buf"), C.int(b.k), C.int(root), c.h, mode())
	runtime.KeepAlive(buf)
	if e != 0 {
		c.fail(e, "Comm.Bcast(%d x %s, root=%d)", b.n, kindName[b.k], root)
	}
	resched()
}

// Scatter splits send on root into Size() equal chunks and gives chunk i to
// rank i, which receives it into recv (comm.Scatter(send, recv, root)).
// len(send) must be Size()*len(recv) on root; on the other ranks send is
// ignored and may be nil. Every rank passes a recv of the same length.
//
//	var all []float64
//	if comm.Rank() == 0 {
//		all = make([]float64, 4*comm.Size()) // 4 per rank
//	}
//	part := make([]float64, 4)
//	comm.Scatter(all, part, 0)
func (c *Comm) Scatter(send, recv any, root int) {
	const call = "Comm.Scatter"
	c.check(call)
	r := bufferOf(call, "recv", recv)
	c.checkRoot(call, root)
	var s buffer
	if c.rank == root {
		s = bufferOf(call, "send", send)
		sameKind(call, "send", r, s, recv, send)
		if s.n != c.size*r.n {
			panic(usagef(call, "send", "has %d elements, but Scatter gives len(recv) = %d to each of the %d ranks, so it needs %d; make len(send) == comm.Size()*len(recv)",
				s.n, r.n, c.size, c.size*r.n))
		}
		if sameMemory(call, s, r) {
			panic(usage(call, "recv", "is the same memory as send; use a separate slice"))
		}
	}
	if e := C.mpigo_scatter(s.ptr, r.ptr, r.count(call, "recv"), C.int(r.k), C.int(root), c.c, mode()); e != 0 {
		c.fail(e, "Comm.Scatter(%d x %s per rank, root=%d)", r.n, kindName[r.k], root)
	}
	resched()
}

// Gather collects send from every rank into recv on root, rank i's data at
// recv[i*len(send):] (comm.Gather(send, recv, root)). len(recv) must be
// Size()*len(send) on root; on the other ranks recv is ignored and may be
// nil. Every rank passes a send of the same length.
//
//	var all []int
//	if comm.Rank() == 0 {
//		all = make([]int, comm.Size())
//	}
//	comm.Gather([]int{comm.Rank() * comm.Rank()}, all, 0)
func (c *Comm) Gather(send, recv any, root int) {
	const call = "Comm.Gather"
	c.check(call)
	s := bufferOf(call, "send", send)
	c.checkRoot(call, root)
	var r buffer
	if c.rank == root {
		r = bufferOf(call, "recv", recv)
		sameKind(call, "recv", s, r, send, recv)
		if r.n != c.size*s.n {
			panic(usagef(call, "recv", "has %d elements, but Gather collects len(send) = %d from each of the %d ranks, so it needs %d; make len(recv) == comm.Size()*len(send) on root",
				r.n, s.n, c.size, c.size*s.n))
		}
		if sameMemory(call, s, r) {
			panic(usage(call, "recv", "is the same memory as send; use a separate slice"))
		}
	}
	if e := C.mpigo_gather(s.ptr, r.ptr, s.count(call, "send"), C.int(s.k), C.int(root), c.c, mode()); e != 0 {
		c.fail(e, "Comm.Gather(%d x %s per rank, root=%d)", s.n, kindName[s.k], root)
	}
	resched()
}

// Allgather is Gather to every rank (comm.Allgather(send, recv)): each
// rank's recv gets rank i's send at recv[i*len(send):]. len(recv) must be
// Size()*len(send).
//
//	all := make([]float64, comm.Size())
//	comm.Allgather([]float64{local}, all)
func (c *Comm) Allgather(send, recv any) {
	const call = "Comm.Allgather"
	c.check(call)
	s := bufferOf(call, "send", send)
	r := bufferOf(call, "recv", recv)
	sameKind(call, "recv", s, r, send, recv)
	if r.n != c.size*s.n {
		panic(usagef(call, "recv", "has %d elements, but Allgather collects len(send) = %d from each of the %d ranks, so it needs %d; make len(recv) == comm.Size()*len(send)",
			r.n, s.n, c.size, c.size*s.n))
	}
	if sameMemory(call, s, r) {
		panic(usage(call, "recv", "is the same memory as send; use a separate slice"))
	}
	if e := C.mpigo_allgather(s.ptr, r.ptr, s.count(call, "send"), C.int(s.k), c.c, mode()); e != 0 {
		c.fail(e, "Comm.Allgather(%d x %s per rank)", s.n, kindName[s.k])
	}
	resched()
}

// Reduce combines send element-wise across all ranks with op and leaves the
// result in recv on root (comm.Reduce(send, recv, op, root)). len(recv)
// must equal len(send) on root; on the other ranks recv is ignored and may
// be nil. Passing the same slice as send and recv on root reduces in place
// (MPI_IN_PLACE). A pointer to a single value works as a 1-element buffer,
// which is how mpi4py's lowercase comm.reduce(x) translates.
//
//	var total float64
//	comm.Reduce(&partial, &total, mpi.Sum, 0) // total is set on rank 0
func (c *Comm) Reduce(send, recv any, op Op, root int) {
	const call = "Comm.Reduce"
	c.check(call)
	s := bufferOf(call, "send", send)
	checkOp(call, op, s.k, send)
	c.checkRoot(call, root)
	var r buffer
	inplace := false
	if c.rank == root {
		r = bufferOf(call, "recv", recv)
		sameKind(call, "recv", s, r, send, recv)
		if r.n != s.n {
			panic(usagef(call, "recv", "has %d elements but send has %d; they must be the same length on root", r.n, s.n))
		}
		inplace = sameMemory(call, s, r)
	}
	e := C.mpigo_reduce(s.addr(), r.addr(), s.count(call, "send"), C.int(s.k), C.int(op), cbool(inplace), C.int(root), c.h, mode())
	runtime.KeepAlive(send)
	runtime.KeepAlive(recv)
	if e != 0 {
		c.fail(e, "Comm.Reduce(%d x %s, %s, root=%d)", s.n, kindName[s.k], op, root)
	}
	resched()
}

// Allreduce is Reduce with the result on every rank
// (comm.Allreduce(send, recv, op)). len(recv) must equal len(send); the same
// slice as send and recv reduces in place.
//
//	sum := make([]float64, len(local))
//	comm.Allreduce(local, sum, mpi.Sum)
//	comm.Allreduce(local, local, mpi.Max) // in place
func (c *Comm) Allreduce(send, recv any, op Op) {
	const call = "Comm.Allreduce"
	c.check(call)
	s := bufferOf(call, "send", send)
	r := bufferOf(call, "recv", recv)
	checkOp(call, op, s.k, send)
	sameKind(call, "recv", s, r, send, recv)
	if r.n != s.n {
		panic(usagef(call, "recv", "has %d elements but send has %d; they must be the same length", r.n, s.n))
	}
	inplace := sameMemory(call, s, r)
	e := C.mpigo_allreduce(s.addr(), r.addr(), s.count(call, "send"), C.int(s.k), C.int(op), cbool(inplace), c.h, mode())
	runtime.KeepAlive(send)
	runtime.KeepAlive(recv)
	if e != 0 {
		c.fail(e, "Comm.Allreduce(%d x %s, %s)", s.n, kindName[s.k], op)
	}
	resched()
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

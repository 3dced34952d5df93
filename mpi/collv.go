package mpi

// #include "mpigo.h"
import "C"

import (
	"math"
	"slices"
	"strconv"
)

// The uneven collectives (MPI_Scatterv, MPI_Gatherv, MPI_Allgatherv,
// MPI_Alltoallv) and MPI_Alltoall. Counts and displacements are numbers of
// elements, as in mpi4py. Before MPI is called, every count and
// displacement is checked to be >= 0 and to fit a C int, and every rank's
// part to lie within its buffer (and, for the buffers MPI writes, not to
// overlap another rank's part), so that no call reads or writes outside the
// Go slices it was given whatever the program gets wrong.

// vScratch is how many ranks' counts and displacements a v-collective
// converts to C ints without allocating (on the caller's stack).
const vScratch = 16

// vlayout checks counts and displs (nil: packed, displs[i] =
// counts[0]+...+counts[i-1]) for a buffer bufArg of n elements on c, and
// returns them as C ints, in scratch when it is long enough. write says
// that MPI writes the buffer: the parts must then be disjoint.
func (c *Comm) vlayout(call, countsArg, displsArg, bufArg string, counts, displs []int, n int, write bool, scratch []C.int) (cc, cd *C.int) {
	size := c.size
	if len(counts) != size {
		what := "has " + plural(len(counts), "entry", "entries")
		if counts == nil {
			what = "is nil"
		}
		panic(usagef(call, countsArg, "%s, but %s has %d rank(s); pass one count per rank: len(%s) == comm.Size()",
			what, c.describe(), size, countsArg))
	}
	if displs != nil && len(displs) != size {
		panic(usagef(call, displsArg, "has %s, but %s has %d rank(s); pass one displacement per rank (len(%s) == comm.Size()), or nil for parts packed one after the other",
			plural(len(displs), "entry", "entries"), c.describe(), size, displsArg))
	}
	if len(scratch) < 2*size {
		scratch = make([]C.int, 2*size)
	}
	cnt, dsp := scratch[:size:size], scratch[size:2*size]
	d := 0 // packed displacement
	for i, k := range counts {
		switch {
		case k < 0:
			panic(usagef(call, countsArg, "%s[%d] = %d is negative; a count is a number of elements, 0 or more", countsArg, i, k))
		case k > math.MaxInt32:
			panic(usagef(call, countsArg, "%s[%d] = %d is more than an MPI count can hold (%d); send the data in parts", countsArg, i, k, math.MaxInt32))
		}
		if displs != nil {
			d = displs[i]
			switch {
			case d < 0:
				panic(usagef(call, displsArg, "%s[%d] = %d is negative; a displacement is the index in %s where rank %d's part starts, 0 or more",
					displsArg, i, d, bufArg, i))
			case d > math.MaxInt32:
				panic(usagef(call, displsArg, "%s[%d] = %d is more than an MPI displacement can hold (%d); send the data in parts",
					displsArg, i, d, math.MaxInt32))
			case d > n-k:
				panic(usagef(call, displsArg, "%s[%d] = %d is out of range: rank %d's part %s[%d:%d] (%s[%d] = %d elements) ends past len(%s) = %d; make %s[i]+%s[i] <= len(%s) for every rank i",
					displsArg, i, d, i, bufArg, d, d+k, countsArg, i, k, bufArg, n, displsArg, countsArg, bufArg))
			}
		} else {
			if d > math.MaxInt32 {
				panic(usagef(call, countsArg, "the packed displacement of rank %d, %s[0]+...+%s[%d] = %d, is more than an MPI displacement can hold (%d); send the data in parts",
					i, countsArg, countsArg, i-1, d, math.MaxInt32))
			}
			if d > n-k {
				panic(usagef(call, bufArg, "has %d elements, but the parts of %s packed one after the other (%s nil) need at least %d: rank %d's part would be %s[%d:%d]; make len(%s) >= the sum of %s",
					n, countsArg, displsArg, sumCounts(counts), i, bufArg, d, d+k, bufArg, countsArg))
			}
		}
		cnt[i], dsp[i] = C.int(k), C.int(d)
		if displs == nil {
			d += k
		}
	}
	if write && displs != nil {
		c.checkDisjoint(call, displsArg, bufArg, counts, displs)
	}
	return &cnt[0], &dsp[0]
}

// sumCounts is the sum of counts, clamped to the int range, for messages:
// the length that parts packed one after the other need.
func sumCounts(counts []int) int {
	s := 0
	for _, k := range counts {
		if k < 0 {
			continue // reported when its turn comes
		}
		if s > math.MaxInt-k {
			return math.MaxInt
		}
		s += k
	}
	return s
}

// checkDisjoint panics if two non-empty parts of a buffer MPI writes
// overlap: MPI leaves the result undefined. Parts in increasing order (the
// usual layout) are checked without allocating.
func (c *Comm) checkDisjoint(call, displsArg, bufArg string, counts, displs []int) {
	end := 0
	sorted := true
	for i, k := range counts {
		if k == 0 {
			continue
		}
		if displs[i] < end {
			sorted = false
			break
		}
		end = displs[i] + k
	}
	if sorted {
		return
	}
	order := make([]int, 0, len(counts))
	for i, k := range counts {
		if k > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return displs[a] - displs[b] })
	for j := 1; j < len(order); j++ {
		a, b := order[j-1], order[j]
		if displs[b] < displs[a]+counts[a] {
			if a > b {
				a, b = b, a
			}
			panic(usagef(call, displsArg, "rank %d's part %s[%d:%d] overlaps rank %d's part %s[%d:%d]; MPI writes each element at most once: give every rank a part of its own",
				a, bufArg, displs[a], displs[a]+counts[a], b, bufArg, displs[b], displs[b]+counts[b]))
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Scatterv is Scatter with parts of different sizes (comm.Scatterv([send,
// counts, displs, MPI.DOUBLE], recv, root) in mpi4py): root sends counts[i]
// elements starting at send[displs[i]] to rank i, which receives them into
// recv. displs nil packs the parts one after the other (displs[i] =
// counts[0]+...+counts[i-1]). len(recv) is what each rank receives (MPI's
// recvcount): on rank i it must equal counts[i] on root. On the other ranks
// than root, send, counts and displs are ignored and may be nil. On root,
// counts (and displs, if not nil) have one entry per rank, every part lies
// within send, and recv must not overlap send.
//
//	n, size := comm.Size()*3+1, comm.Size() // 3 each, 1 left over
//	counts := make([]int, size)
//	for i := range counts {
//		counts[i] = n / size
//		if i < n%size {
//			counts[i]++ // the first n%size ranks get one more
//		}
//	}
//	var data []float64
//	if comm.Rank() == 0 {
//		data = make([]float64, n)
//	}
//	part := make([]float64, counts[comm.Rank()])
//	comm.Scatterv(data, counts, nil, part, 0)
func (c *Comm) Scatterv(send any, counts, displs []int, recv any, root int) {
	const call = "Comm.Scatterv"
	c.check(call)
	r := bufferOf(call, "recv", recv)
	c.checkRoot(call, root)
	var s buffer
	var cp, dp *C.int
	var scratch [2 * vScratch]C.int
	if c.rank == root {
		s = bufferOf(call, "send", send)
		sameKind(call, "send", r, s, recv, send)
		cp, dp = c.vlayout(call, "counts", "displs", "send", counts, displs, s.n, false, scratch[:])
		if counts[root] != r.n {
			panic(usagef(call, "recv", "has %d elements, but counts[%d] = %d on root %d: root receives its own part too; make len(recv) == counts[comm.Rank()] on every rank",
				r.n, root, counts[root], root))
		}
		if sameMemory(call, s, r) {
			panic(usage(call, "recv", "is the same memory as send; use a separate slice"))
		}
	}
	if e := C.mpigo_scatterv(s.ptr, cp, dp, r.ptr, r.count(call, "recv"), C.int(r.k), C.int(root), c.c, mode()); e != 0 {
		c.fail(e, "Comm.Scatterv(%d x %s to rank %d, root=%d)", r.n, kindName[r.k], c.rank, root)
	}
	resched()
}

// Gatherv is Gather with parts of different sizes (comm.Gatherv(send,
// [recv, counts, displs, MPI.DOUBLE], root) in mpi4py): root receives
// rank i's send, counts[i] elements, into recv[displs[i]:]. displs nil
// packs the parts one after the other. Each rank sends len(send) elements,
// which must equal counts[rank] on root. On the other ranks than root,
// recv, counts and displs are ignored and may be nil. On root, counts (and
// displs, if not nil) have one entry per rank, every part lies within recv,
// no two parts overlap, and recv must not overlap send.
//
//	mine := make([]int, comm.Rank()+1) // rank i sends i+1 elements
//	var counts []int
//	var all []int
//	if comm.Rank() == 0 {
//		counts = make([]int, comm.Size())
//		for i := range counts {
//			counts[i] = i + 1
//		}
//		all = make([]int, comm.Size()*(comm.Size()+1)/2)
//	}
//	comm.Gatherv(mine, all, counts, nil, 0)
func (c *Comm) Gatherv(send, recv any, counts, displs []int, root int) {
	const call = "Comm.Gatherv"
	c.check(call)
	s := bufferOf(call, "send", send)
	c.checkRoot(call, root)
	var r buffer
	var cp, dp *C.int
	var scratch [2 * vScratch]C.int
	if c.rank == root {
		r = bufferOf(call, "recv", recv)
		sameKind(call, "recv", s, r, send, recv)
		cp, dp = c.vlayout(call, "counts", "displs", "recv", counts, displs, r.n, true, scratch[:])
		if counts[root] != s.n {
			panic(usagef(call, "send", "has %d elements, but counts[%d] = %d on root %d: root sends its own part too; make len(send) == counts[comm.Rank()] on every rank",
				s.n, root, counts[root], root))
		}
		if sameMemory(call, s, r) {
			panic(usage(call, "recv", "is the same memory as send; use a separate slice"))
		}
	}
	if e := C.mpigo_gatherv(s.ptr, s.count(call, "send"), r.ptr, cp, dp, C.int(s.k), C.int(root), c.c, mode()); e != 0 {
		c.fail(e, "Comm.Gatherv(%d x %s from rank %d, root=%d)", s.n, kindName[s.k], c.rank, root)
	}
	resched()
}

// Allgatherv is Gatherv to every rank (comm.Allgatherv(send, [recv, counts,
// displs, MPI.DOUBLE]) in mpi4py): each rank's recv gets rank i's send,
// counts[i] elements, at recv[displs[i]:]. Every rank passes the same
// counts (and displs, or nil to pack the parts one after the other);
// len(send) must equal counts[comm.Rank()]. Every part lies within recv, no
// two parts overlap, and recv must not overlap send.
//
//	counts := make([]int, comm.Size())
//	for i := range counts {
//		counts[i] = i + 1 // rank i contributes i+1 elements
//	}
//	mine := make([]float64, counts[comm.Rank()])
//	all := make([]float64, comm.Size()*(comm.Size()+1)/2)
//	comm.Allgatherv(mine, all, counts, nil)
func (c *Comm) Allgatherv(send, recv any, counts, displs []int) {
	const call = "Comm.Allgatherv"
	c.check(call)
	s := bufferOf(call, "send", send)
	r := bufferOf(call, "recv", recv)
	sameKind(call, "recv", s, r, send, recv)
	var scratch [2 * vScratch]C.int
	cp, dp := c.vlayout(call, "counts", "displs", "recv", counts, displs, r.n, true, scratch[:])
	if counts[c.rank] != s.n {
		panic(usagef(call, "send", "has %d elements, but counts[%d] = %d on rank %d; make len(send) == counts[comm.Rank()] on every rank",
			s.n, c.rank, counts[c.rank], c.rank))
	}
	if sameMemory(call, s, r) {
		panic(usage(call, "recv", "is the same memory as send; use a separate slice"))
	}
	if e := C.mpigo_allgatherv(s.ptr, s.count(call, "send"), r.ptr, cp, dp, C.int(s.k), c.c, mode()); e != 0 {
		c.fail(e, "Comm.Allgatherv(%d x %s from rank %d)", s.n, kindName[s.k], c.rank)
	}
	resched()
}

// Alltoall sends part i of send to rank i and receives rank i's part into
// part i of recv (comm.Alltoall(send, recv) in mpi4py): with k =
// len(send)/Size(), rank j's send[i*k:(i+1)*k] lands in rank i's
// recv[j*k:(j+1)*k], a transpose of blocks across the ranks. len(send) and
// len(recv) must both be Size()*k, with the same k on every rank, and recv
// must not overlap send.
//
//	send := make([]int, comm.Size()) // one element for each rank
//	for i := range send {
//		send[i] = 100*comm.Rank() + i
//	}
//	recv := make([]int, comm.Size())
//	comm.Alltoall(send, recv) // recv[j] == 100*j + comm.Rank()
func (c *Comm) Alltoall(send, recv any) {
	const call = "Comm.Alltoall"
	c.check(call)
	s := bufferOf(call, "send", send)
	r := bufferOf(call, "recv", recv)
	sameKind(call, "recv", s, r, send, recv)
	if s.n%c.size != 0 {
		panic(usagef(call, "send", "has %d elements, not a multiple of the %d rank(s) of %s; Alltoall sends len(send)/comm.Size() elements to each rank: make len(send) == comm.Size()*k (use Alltoallv for parts of different sizes)",
			s.n, c.size, c.describe()))
	}
	if r.n != s.n {
		panic(usagef(call, "recv", "has %d elements but send has %d; Alltoall receives as many elements from each rank as it sends to each: make len(recv) == len(send) == comm.Size()*k",
			r.n, s.n))
	}
	k := buffer{n: s.n / c.size}
	if sameMemory(call, s, r) {
		panic(usage(call, "recv", "is the same memory as send; use a separate slice"))
	}
	if e := C.mpigo_alltoall(s.ptr, r.ptr, k.count(call, "send"), C.int(s.k), c.c, mode()); e != 0 {
		c.fail(e, "Comm.Alltoall(%d x %s per rank)", k.n, kindName[s.k])
	}
	resched()
}

// Alltoallv is Alltoall with parts of different sizes
// (comm.Alltoallv([send, sendCounts, sendDispls, MPI.DOUBLE], [recv,
// recvCounts, recvDispls, MPI.DOUBLE]) in mpi4py): each rank sends
// sendCounts[i] elements from send[sendDispls[i]:] to rank i, and receives
// recvCounts[i] elements from rank i into recv[recvDispls[i]:]. Either
// displacement slice may be nil to pack its parts one after the other.
// What rank j sends to rank i (its sendCounts[i]) must equal what rank i
// expects from rank j (its recvCounts[j]); a rank checks this for itself
// (sendCounts[rank] == recvCounts[rank]). The counts and displacements
// have one entry per rank, every part lies within its buffer, no two parts
// of recv overlap, and recv must not overlap send.
//
//	// rank r sends i+1 elements to rank i and receives r+1 from each
//	size, rank := comm.Size(), comm.Rank()
//	sendCounts, recvCounts := make([]int, size), make([]int, size)
//	for i := range sendCounts {
//		sendCounts[i], recvCounts[i] = i+1, rank+1
//	}
//	send := make([]float64, size*(size+1)/2)
//	recv := make([]float64, size*(rank+1))
//	comm.Alltoallv(send, sendCounts, nil, recv, recvCounts, nil)
func (c *Comm) Alltoallv(send any, sendCounts, sendDispls []int, recv any, recvCounts, recvDispls []int) {
	const call = "Comm.Alltoallv"
	c.check(call)
	s := bufferOf(call, "send", send)
	r := bufferOf(call, "recv", recv)
	sameKind(call, "recv", s, r, send, recv)
	var sScratch, rScratch [2 * vScratch]C.int
	scp, sdp := c.vlayout(call, "sendCounts", "sendDispls", "send", sendCounts, sendDispls, s.n, false, sScratch[:])
	rcp, rdp := c.vlayout(call, "recvCounts", "recvDispls", "recv", recvCounts, recvDispls, r.n, true, rScratch[:])
	if sendCounts[c.rank] != recvCounts[c.rank] {
		panic(usagef(call, "recvCounts", "recvCounts[%d] = %d but sendCounts[%d] = %d on rank %d: a rank receives from itself what it sends to itself; make recvCounts[i] on rank j == sendCounts[j] on rank i",
			c.rank, recvCounts[c.rank], c.rank, sendCounts[c.rank], c.rank))
	}
	if sameMemory(call, s, r) {
		panic(usage(call, "recv", "is the same memory as send; use a separate slice"))
	}
	if e := C.mpigo_alltoallv(s.ptr, scp, sdp, r.ptr, rcp, rdp, C.int(s.k), c.c, mode()); e != 0 {
		c.fail(e, "Comm.Alltoallv(%s, rank %d)", kindName[s.k], c.rank)
	}
	resched()
}

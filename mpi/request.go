package mpi

// #include "mpigo.h"
import "C"

import (
	"runtime"
	"slices"
	"sync/atomic"
)

// Request is a non-blocking send or receive in progress (MPI_Request,
// mpi4py's MPI.Request), returned by Isend and Irecv. Its buffer is pinned
// (runtime.Pinner) and must not be touched until Wait, WaitAll or a
// successful Test returns; then it is released. Every request must be
// completed that way before Finalize (which refuses otherwise). Complete a
// Request from one goroutine: a Wait, Test or WaitAll of a request that
// another goroutine is completing panics.
//
//	req := comm.Isend(data, 1, 0)
//	compute() // overlaps with the transfer
//	req.Wait()
type Request struct {
	req   C.uintptr_t // the MPI_Request, as the C helpers take it
	pin   runtime.Pinner
	comm  *Comm
	call  string // "Comm.Isend" or "Comm.Irecv"
	peer  int
	tag   int
	shift uint8 // log2 of the element size
	n     int
	done  bool
	st    Status
	// busy is set while a Wait, Test or WaitAll completes the request: MPI
	// must never see the same request twice at once (a double free).
	busy atomic.Bool
}

// outstanding counts the requests started and not yet completed, which
// Finalize refuses to leave behind (MPI would write into buffers that Go
// no longer keeps).
var outstanding atomic.Int64

// Isend starts sending buf to dest and returns at once (comm.Isend). buf
// stays pinned, and must not be modified, until the request completes.
//
//	reqs := []*mpi.Request{
//		comm.Isend(left, (rank+size-1)%size, 0),
//		comm.Isend(right, (rank+1)%size, 1),
//	}
//	mpi.WaitAll(reqs...)
func (c *Comm) Isend(buf any, dest, tag int) *Request {
	const call = "Comm.Isend"
	c.check(call)
	b := bufferOf(call, "buf", buf)
	c.checkDest(call, dest)
	checkTag(call, "tag", tag, false)
	n := b.count(call, "buf") // checked before pinning: a refused call pins nothing
	r := &Request{comm: c, call: call, peer: dest, tag: tag, shift: kindShift[b.k], n: b.n}
	r.pinBuffer(b)
	res := C.mpigo_isend(b.addr(), n, C.int(b.k), cRank(dest), C.int(tag), c.h) // buf is pinned
	if res.err != 0 {
		r.pin.Unpin()
		c.fail(res.err, "Comm.Isend(%d x %s, dest=%s, tag=%d)", b.n, kindName[b.k], rankStr(dest), tag)
	}
	r.req = res.req
	outstanding.Add(1)
	return r
}

// Irecv starts receiving into buf from source (or mpi.AnySource) with tag
// (or mpi.AnyTag) and returns at once (comm.Irecv). buf stays pinned, and
// must not be read, until the request completes; Wait's Status then says how
// many elements arrived.
//
//	buf := make([]float64, n)
//	req := comm.Irecv(buf, 0, 0)
//	st := req.Wait()
//	fmt.Println(buf[:st.Count])
func (c *Comm) Irecv(buf any, source, tag int) *Request {
	const call = "Comm.Irecv"
	c.check(call)
	b := bufferOf(call, "buf", buf)
	c.checkSource(call, source)
	checkTag(call, "tag", tag, true)
	n := b.count(call, "buf") // checked before pinning: a refused call pins nothing
	r := &Request{comm: c, call: call, peer: source, tag: tag, shift: kindShift[b.k], n: b.n}
	r.pinBuffer(b)
	res := C.mpigo_irecv(b.addr(), n, C.int(b.k), cRank(source), cTag(tag), c.h) // buf is pinned
	if res.err != 0 {
		r.pin.Unpin()
		c.fail(res.err, "Comm.Irecv(%d x %s, source=%s, tag=%s)", b.n, kindName[b.k], rankStr(source), tagStr(tag))
	}
	r.req = res.req
	outstanding.Add(1)
	return r
}

// mode is how Wait completes r (see Comm.recvMode).
func (r *Request) mode() C.int {
	if r.call == "Comm.Irecv" {
		return r.comm.recvMode(r.peer)
	}
	return mode()
}

// pinBuffer keeps the buffer's memory from being freed or moved while MPI
// holds its address after the call has returned.
func (r *Request) pinBuffer(b buffer) {
	if b.n > 0 && b.ptr != nil {
		r.pin.Pin((*byte)(b.ptr))
	}
}

func (r *Request) complete(st C.mpigo_status) {
	r.done = true
	r.pin.Unpin()
	outstanding.Add(-1)
	if st.err != 0 {
		r.comm.fail(st.err, "%s(%d elements, peer=%s, tag=%s) completing in Wait/Test", r.call, r.n, rankStr(r.peer), tagStr(r.tag))
	}
	switch {
	case r.call == "Comm.Isend":
		r.st = Status{Source: r.peer, Tag: r.tag, Count: r.n, bytes: r.n << r.shift}
	case r.peer == ProcNull:
		r.st = procNullStatus
	default:
		r.st = status(st, r.shift)
	}
}

// Wait blocks until the request completes and returns its Status
// (req.Wait()); the buffer may then be used again. Waiting again returns the
// same Status.
//
//	req := comm.Irecv(buf, mpi.AnySource, 0)
//	st := req.Wait()
//	fmt.Println("got", st.Count, "from", st.Source)
func (r *Request) Wait() Status {
	if r == nil {
		panic(usage("Request.Wait", "", "called on a nil *Request"))
	}
	if r.done {
		return r.st
	}
	checkRunning("Request.Wait")
	r.claim("Request.Wait")
	defer r.busy.Store(false)
	if r.done { // completed by another goroutine meanwhile
		return r.st
	}
	res := C.mpigo_wait(r.req, r.mode())
	r.complete(res.st)
	resched()
	return r.st
}

// Test reports whether the request has completed, without blocking
// (req.Test()); once it has, it returns the Status as Wait would.
//
//	for {
//		if st, done := req.Test(); done {
//			fmt.Println("received", st.Count)
//			break
//		}
//		doSomeWork()
//	}
func (r *Request) Test() (Status, bool) {
	if r == nil {
		panic(usage("Request.Test", "", "called on a nil *Request"))
	}
	if r.done {
		return r.st, true
	}
	checkRunning("Request.Test")
	r.claim("Request.Test")
	defer r.busy.Store(false)
	if r.done { // completed by another goroutine meanwhile
		return r.st, true
	}
	res := C.mpigo_test_req(r.req)
	resched()
	if res.done == 0 && res.st.err == 0 {
		return Status{}, false
	}
	r.complete(res.st)
	return r.st, true
}

// WaitAll waits for every request and returns their Statuses in order
// (MPI.Request.Waitall). nil requests and completed ones are allowed.
//
//	reqs := make([]*mpi.Request, 0, 2)
//	reqs = append(reqs, comm.Irecv(halo, left, 0), comm.Isend(edge, right, 0))
//	mpi.WaitAll(reqs...)
func WaitAll(reqs ...*Request) []Status {
	out := make([]Status, len(reqs))
	if pending := claimAll(reqs); len(pending) > 0 {
		defer release(pending)
		waitPending(pending)
	}
	for i, r := range reqs {
		if r != nil {
			out[i] = r.st
		}
	}
	return out
}

// claim marks r as being completed by the caller, panicking if another
// goroutine is completing it.
func (r *Request) claim(call string) {
	if !r.busy.CompareAndSwap(false, true) {
		panic(errBusyRequest(call))
	}
}

func errBusyRequest(call string) *UsageError {
	return usage(call, "", "the request is being completed by another goroutine at the same time (Wait, Test or WaitAll); complete each request from one goroutine")
}

// claimAll returns the requests of reqs still pending, each once (the
// same request passed twice is waited for once), claimed.
func claimAll(reqs []*Request) []*Request {
	var pending []*Request
	for _, r := range reqs {
		if r == nil || r.done {
			continue
		}
		if pending == nil {
			checkRunning("WaitAll")
			pending = make([]*Request, 0, len(reqs))
		}
		if !r.busy.CompareAndSwap(false, true) {
			if slices.Contains(pending, r) {
				continue
			}
			release(pending)
			panic(errBusyRequest("WaitAll"))
		}
		if r.done { // completed by another goroutine meanwhile
			r.busy.Store(false)
			continue
		}
		pending = append(pending, r)
	}
	return pending
}

func release(reqs []*Request) {
	for _, r := range reqs {
		r.busy.Store(false)
	}
}

// waitPending completes claimed requests, each on its own in C (see
// mpigo_waitall: MPI_Waitall hung under Open MPI and left requests pending
// under MPICH when one of them failed), then reports the first error.
func waitPending(pending []*Request) {
	handles := make([]C.uintptr_t, len(pending))
	sts := make([]C.mpigo_status, len(pending))
	var poll C.int
	for i, r := range pending {
		handles[i] = r.req
		poll = max(poll, r.mode())
	}
	C.mpigo_waitall(C.int(len(pending)), &handles[0], &sts[0], poll)
	resched()
	// Complete all (unpinning their buffers) before reporting the first
	// error, if any.
	var first any
	for i, r := range pending {
		func() {
			defer func() {
				if e := recover(); e != nil && first == nil {
					first = e
				}
			}()
			r.complete(sts[i])
		}()
	}
	if first != nil {
		panic(first)
	}
}

package mpi

import (
	"runtime"
	"testing"
	"time"
)

// TestWaitAllSameRequestTwice: a request passed twice to WaitAll is waited
// for once (MPI freed it twice: Open MPI aborted with "free(): invalid
// pointer", MPICH failed an assertion), and both entries get its Status.
func TestWaitAllSameRequestTwice(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	buf := make([]int32, 4)
	q := comm.Irecv(buf, left, 61)
	s := comm.Isend([]int32{int32(rank), 1, 2, 3}, right, 61)
	sts := WaitAll(q, s, q, nil, s)
	if sts[0] != sts[2] || sts[1] != sts[4] || sts[0].Source != left || sts[0].Count != 4 || buf[0] != int32(left) || buf[3] != 3 {
		t.Errorf("WaitAll(q, s, q, nil, s): %+v, buf %v", sts, buf)
	}
	comm.Barrier()
}

// TestConcurrentWaitRefused: while one goroutine waits for a request,
// Wait, Test and WaitAll of it from another panic instead of handing MPI
// the same request twice; the first wait still completes.
func TestConcurrentWaitRefused(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	buf := make([]int64, 1)
	q := comm.Irecv(buf, left, 62)
	waited := make(chan Status)
	go func() { waited <- q.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !q.busy.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the waiting goroutine never started its Wait")
		}
		runtime.Gosched()
	}
	expectPanic(t, "second Wait", false, func() { q.Wait() }, "Request.Wait", "another goroutine")
	expectPanic(t, "Test", false, func() { q.Test() }, "Request.Test", "another goroutine")
	expectPanic(t, "WaitAll", false, func() { WaitAll(q) }, "WaitAll", "another goroutine")
	comm.Barrier() // no message is sent before every rank has checked
	comm.Send([]int64{int64(rank)}, right, 62)
	if st := <-waited; st.Source != left || buf[0] != int64(left) {
		t.Errorf("the first Wait: %+v, buf %v", st, buf)
	}
	comm.Barrier()
}

// TestWaitAllKeepsPendingRequests: when a request fails inside WaitAll (a
// truncation), the others still complete into their buffers: MPICH's
// MPI_Waitall returned at the first error with the others MPI_ERR_PENDING,
// which were taken as done and unpinned, and Open MPI's never returned.
func TestWaitAllKeepsPendingRequests(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	if size < 2 {
		return // needs a sender and a receiver
	}
	// the receives are posted before anything is sent: then Open MPI
	// 4.1.4's MPI_Waitall never returned (the binding waits one by one)
	var r1, r2 *Request
	small, later := make([]int32, 1), make([]int32, 3)
	if rank == 0 {
		r1 = comm.Irecv(small, 1, 63)
		r2 = comm.Irecv(later, 1, 64)
	}
	comm.Barrier()
	switch rank {
	case 0:
		// rank 1 sends r2's message only once WaitAll holds r2, after the
		// truncating one: MPICH's MPI_Waitall returned before it arrived
		go func() {
			deadline := time.Now().Add(20 * time.Second)
			for !r2.busy.Load() && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			comm.Send([]int32{0}, 1, 65)
		}()
		expectPanic(t, "WaitAll with a truncation", true, func() { WaitAll(r1, r2) }, "runcat")
		if st := r2.Wait(); st.Count != 3 || later[0] != 7 || later[2] != 9 {
			t.Errorf("the other request: %+v, buf %v", st, later)
		}
	case 1:
		comm.Send([]int32{1, 2, 3}, 0, 63)
		comm.Recv(make([]int32, 1), 0, 65)
		comm.Send([]int32{7, 8, 9}, 0, 64)
	}
	comm.Barrier()
}

package mpi

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
	"weak"
)

// garbage allocates and scribbles over memory, so that a buffer freed too
// early would be reused and overwritten.
//
//go:noinline
func garbage(mb int) int {
	sum := 0
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = 0x5A
		}
		sum += int(b[i%len(b)])
	}
	return sum
}

// growStack recurses deep enough to make the runtime copy the goroutine's
// stack to a larger one: anything left on the old stack would move.
//
//go:noinline
func growStack(depth int) int {
	var pad [512]byte
	pad[depth%512] = byte(depth)
	if depth == 0 {
		return int(pad[0])
	}
	return growStack(depth-1) + int(pad[depth%512])
}

// stress is what runs between posting non-blocking calls and waiting.
func stress() {
	runtime.GC()
	garbage(8)
	growStack(4000)
	runtime.GC()
	runtime.GC()
}

// postRing posts an Irecv from the left into a guarded sub-slice and an
// Isend to the right, keeping only weak pointers to the buffers: while the
// requests are pending, they alone keep the buffers alive.
//
//go:noinline
func postRing[T any](comm *Comm, n, tag int, val func(seed, i int) T) ([]*Request, weak.Pointer[T], weak.Pointer[T]) {
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	whole := make([]T, n+2*guardElems)
	wb := asBytes(whole)
	for i := range wb {
		wb[i] = guardByte
	}
	// at least 16 bytes: a smaller pointer-free object can share a block of
	// the runtime's tiny allocator with other live objects and then stay
	// alive after the request let go of it (Go 1.24 and 1.25 do that)
	var zero T
	send := make([]T, n, max(n, 16/int(unsafe.Sizeof(zero))+1))
	for i := range send {
		send[i] = val(rank, i)
	}
	reqs := []*Request{
		comm.Irecv(whole[guardElems:guardElems+n], left, tag),
		comm.Isend(send, right, tag),
	}
	return reqs, weak.Make(&whole[0]), weak.Make(&send[0])
}

// checkRing checks the received data through the weak pointer.
//
//go:noinline
func checkRing[T any](t *testing.T, name string, wr weak.Pointer[T], n int, val func(seed, i int) T) {
	t.Helper()
	rank, size := World.Rank(), World.Size()
	left := (rank + size - 1) % size
	p := wr.Value()
	if p == nil {
		t.Errorf("%s: the receive buffer was garbage-collected after Wait returned", name)
		return
	}
	whole := unsafe.Slice(p, n+2*guardElems)
	want := make([]T, n)
	for i := range want {
		want[i] = val(left, i)
	}
	g := &guarded{whole: whole, sub: whole[guardElems : guardElems+n], n: n}
	g.check(t, want, "%s ring of %d with GC between post and Wait", name, n)
}

func ringGC[T any](t *testing.T, comm *Comm, name string, n int, val func(seed, i int) T) {
	reqs, wr, ws := postRing(comm, n, 31, val)
	stress()
	if wr.Value() == nil || ws.Value() == nil {
		t.Errorf("%s: a buffer of a pending request was garbage-collected", name)
	}
	sts := WaitAll(reqs...)
	if sts[0].Count != n || sts[1].Count != n {
		t.Errorf("%s: statuses %+v", name, sts)
	}
	for _, r := range reqs {
		if st := r.Wait(); st != r.st {
			t.Errorf("second Wait returned %+v, first %+v", st, r.st)
		}
	}
	checkRing(t, name, wr, n, val)
	// once completed, the requests no longer pin the buffers
	reqs = nil
	for i := 0; i < 4 && ws.Value() != nil; i++ {
		runtime.GC()
	}
	if ws.Value() != nil {
		t.Errorf("%s: the send buffer stayed alive after its request completed (still pinned?)", name)
	}
}

// TestNonblockingRingGC: a ring of Isend/Irecv over several element types and
// sizes (eager and rendezvous), with forced GCs, heap churn and a stack
// copy between posting and Wait. Run under GOEXPERIMENT=cgocheck2 by TestMPI.
func TestNonblockingRingGC(t *testing.T) {
	comm := needChild(t)
	ringGC(t, comm, "float64", 1000, func(s, i int) float64 { return float64(s)*1e6 + float64(i) })
	for _, n := range []int{1, 300000} {
		ringGC(t, comm, "float64", n, func(s, i int) float64 { return float64(s)*1e6 + float64(i) })
		ringGC(t, comm, "int32", n, func(s, i int) int32 { return int32(s*1000000 + i) })
		ringGC(t, comm, "complex128", n, func(s, i int) complex128 { return complex(float64(s), float64(i)) })
		ringGC(t, comm, "bool", n, func(s, i int) bool { return (s+i)%2 == 0 })
		ringGC(t, comm, "byte", n, func(s, i int) byte { return byte(s + i) })
	}
	comm.Barrier()
}

// TestNonblockingStackBuffer receives into an array declared in the
// function, then copies the goroutine's stack before waiting: the array must
// not stay on the stack while MPI holds its address.
func TestNonblockingStackBuffer(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	var recv [64]int64
	var send [64]int64
	for i := range send {
		send[i] = int64(rank*1000 + i)
	}
	r1 := comm.Irecv(recv[8:56], left, 32)
	r2 := comm.Isend(send[8:56], right, 32)
	growStack(8000)
	runtime.GC()
	WaitAll(r1, r2, nil)
	for i := range recv {
		want := int64(0)
		if i >= 8 && i < 56 {
			want = int64(left*1000 + i)
		}
		if recv[i] != want {
			t.Errorf("recv[%d] = %d, want %d", i, recv[i], want)
			break
		}
	}
	comm.Barrier()
}

// TestRequestTest polls with Test until the message arrives.
func TestRequestTest(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	buf := make([]uint16, 10)
	r := comm.Irecv(buf, AnySource, AnyTag)
	if size > 1 {
		// the message cannot have arrived: the sender waits for the barrier
		if _, done := r.Test(); done {
			t.Errorf("Test reports completion before anything was sent")
		}
	}
	comm.Barrier()
	s := comm.Isend([]uint16{uint16(rank), 7}, right, 44)
	var st Status
	deadline := time.Now().Add(20 * time.Second)
	for done := false; !done; {
		if st, done = r.Test(); !done {
			if time.Now().After(deadline) {
				t.Errorf("Test never completed")
				r.Wait()
				break
			}
			runtime.Gosched()
		}
	}
	if st.Source != left || st.Tag != 44 || st.Count != 2 || buf[0] != uint16(left) || buf[1] != 7 {
		t.Errorf("Irecv/Test: status %+v buf %v", st, buf[:2])
	}
	if st2, done := r.Test(); !done || st2 != st {
		t.Errorf("Test after completion: %v %+v", done, st2)
	}
	s.Wait()
	if st := s.Wait(); st.Source != right || st.Count != 2 {
		t.Errorf("Isend status %+v", st)
	}
}

// TestGCDuringBlockingRecv: a goroutine blocks in Recv while another forces
// collections; the buffer passed to C stays put for the call.
func TestGCDuringBlockingRecv(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	done := make(chan []float64)
	go func() {
		buf := make([]float64, 100000)
		comm.Recv(buf, left, 51)
		done <- buf
	}()
	for i := 0; i < 3; i++ {
		stress()
	}
	send := make([]float64, 100000)
	for i := range send {
		send[i] = float64(rank + i)
	}
	comm.Send(send, right, 51)
	buf := <-done
	for i := range buf {
		if buf[i] != float64(left+i) {
			t.Errorf("buf[%d] = %g, want %d", i, buf[i], left+i)
			break
		}
	}
	comm.Barrier()
}

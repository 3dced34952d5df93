package mpi

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestEnvironment(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	if rank < 0 || rank >= size {
		t.Errorf("Rank %d not in [0, %d)", rank, size)
	}
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"} {
		if n, err := strconv.Atoi(os.Getenv(v)); err == nil && n != size {
			t.Errorf("Size %d but the launcher set %s=%d", size, v, n)
		}
	}
	if Self.Size() != 1 || Self.Rank() != 0 {
		t.Errorf("Self: rank %d size %d", Self.Rank(), Self.Size())
	}
	if !Initialized() || Finalized() {
		t.Errorf("Initialized %v Finalized %v", Initialized(), Finalized())
	}
	if lvl := ThreadLevel(); lvl != ThreadMultiple {
		t.Errorf("ThreadLevel = %v; Debian's Open MPI and MPICH grant MPI_THREAD_MULTIPLE", lvl)
	}
	if got := InitThread(ThreadSingle); got != ThreadLevel() {
		t.Errorf("second InitThread returned %v, want the level already granted", got)
	}
	// a goroutine locked to a new thread is not MPI's main thread
	ch := make(chan bool)
	go func() {
		runtime.LockOSThread()
		ch <- IsThreadMain()
	}()
	if <-ch {
		t.Errorf("IsThreadMain is true on another thread")
	}
	impl := Implementation()
	lib := LibraryVersion()
	switch impl {
	case "openmpi":
		if !strings.Contains(lib, "Open MPI") {
			t.Errorf("Implementation %s but LibraryVersion %q", impl, lib)
		}
	case "mpich":
		if !strings.Contains(lib, "MPICH") {
			t.Errorf("Implementation %s but LibraryVersion %q", impl, lib)
		}
	default:
		t.Errorf("Implementation() = %q", impl)
	}
	if s := LibraryVersionShort(); s == "" || strings.Contains(s, "\n") {
		t.Errorf("LibraryVersionShort = %q", s)
	}
	name := ProcessorName()
	if host, _ := os.Hostname(); name == "" || (host != "" && !strings.HasPrefix(name, strings.Split(host, ".")[0])) {
		t.Errorf("ProcessorName = %q, host name %q", name, host)
	}
	t0 := Wtime()
	time.Sleep(20 * time.Millisecond)
	if d := Wtime() - t0; d < 0.015 || d > 5 {
		t.Errorf("Wtime advanced %g s over a 20 ms sleep", d)
	}
	if tick := Wtick(); tick <= 0 || tick > 0.01 {
		t.Errorf("Wtick = %g", tick)
	}
	if tagUB < 32767 {
		t.Errorf("MPI_TAG_UB = %d, below the standard's minimum 32767", tagUB)
	}
	// element sizes agree with MPI's (int, uint, uintptr by size; bool is 1 byte)
	if unsafe.Sizeof(true) != 1 {
		t.Errorf("Go bool is %d bytes", unsafe.Sizeof(true))
	}
	for k := kInt8; k < nKinds; k++ {
		if 1<<kindShift[k] != kindSize[k] {
			t.Errorf("kindShift[%s] = %d, size %d", kindName[k], kindShift[k], kindSize[k])
		}
		if got := mpiTypeSize(k); got != int(kindSize[k]) {
			t.Errorf("MPI type for %s has size %d, Go's is %d", kindName[k], got, kindSize[k])
		}
	}
	if kindSize[kInt] != unsafe.Sizeof(int(0)) || kindSize[kUint] != unsafe.Sizeof(uint(0)) || kindSize[kUintptr] != unsafe.Sizeof(uintptr(0)) {
		t.Errorf("int/uint/uintptr mapped to the wrong size")
	}
	comm.Barrier()
}

// TestSendRecvTypes sends every element type from each rank to the next
// (a ring, so every rank both sends and receives) with Send and Recv, into a
// sub-slice with guards around it; the message sizes cover MPI's eager and
// rendezvous protocols.
func TestSendRecvTypes(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	for _, tc := range typeCases {
		for _, n := range []int{0, 1, 7, 40000} {
			send := tc.values(n, rank)
			g := newGuarded(send, n)
			var st Status
			tag := 3 + n%5
			switch {
			case size == 1:
				r := comm.Isend(send, rank, tag)
				st = comm.Recv(g.sub, rank, tag)
				r.Wait()
			case rank%2 == 0:
				comm.Send(send, right, tag)
				st = comm.Recv(g.sub, left, tag)
			default:
				st = comm.Recv(g.sub, left, tag)
				comm.Send(send, right, tag)
			}
			g.check(t, tc.values(n, left), "Send/Recv %s x %d", tc.name, n)
			if st.Source != left || st.Tag != tag || st.Count != n {
				t.Errorf("Recv %s x %d: status %+v, want source %d tag %d count %d", tc.name, n, st, left, tag, n)
			}
			if got := st.CountOf(send); got != n {
				t.Errorf("CountOf = %d, want %d", got, n)
			}
		}
	}
	comm.Barrier()
}

// TestRecvStatus receives into a buffer longer than the message, from
// AnySource with AnyTag.
func TestRecvStatus(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	if rank != 0 {
		comm.Send(make([]int32, rank), 0, 100+rank)
	} else {
		seen := map[int]bool{}
		buf := make([]int32, size+3)
		for i := 1; i < size; i++ {
			st := comm.Recv(buf, AnySource, AnyTag)
			if st.Tag != 100+st.Source || st.Count != st.Source || seen[st.Source] {
				t.Errorf("AnySource/AnyTag: status %+v", st)
			}
			seen[st.Source] = true
		}
	}
	// ProcNull: completes at once with an empty status
	buf := []float64{42}
	comm.Send(buf, ProcNull, 0)
	st := comm.Recv(buf, ProcNull, AnyTag)
	if st.Source != ProcNull || st.Tag != AnyTag || st.Count != 0 || buf[0] != 42 {
		t.Errorf("Recv from ProcNull: %+v, buf %v", st, buf)
	}
	comm.Barrier()
}

// TestSpecialRanks: AnySource, ProcNull and AnyTag have values of the
// package's own, far from the -1 and -2 that MPI uses (and that Go's
// (rank-1)%size computes); they still reach MPI as MPI's, and a ProcNull
// receive or probe reports Source ProcNull and Tag AnyTag on every path.
func TestSpecialRanks(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	special := map[string]int{"AnySource": AnySource, "ProcNull": ProcNull, "AnyTag": AnyTag}
	seen := map[int]string{Undefined: "Undefined"}
	for name, v := range special {
		if v > -1<<20 || int(int32(v)) != v {
			t.Errorf("%s = %d: want a value far below -1 that fits in an int32", name, v)
		}
		if other, dup := seen[v]; dup {
			t.Errorf("%s = %s = %d", name, other, v)
		}
		seen[v] = name
	}

	buf := []float64{42}
	procNull := func(what string, st Status) {
		t.Helper()
		if st.Source != ProcNull || st.Tag != AnyTag || st.Count != 0 || st.CountOf([]byte(nil)) != 0 || buf[0] != 42 {
			t.Errorf("%s from ProcNull: status %+v (want Source %d, Tag %d, Count 0), buf %v", what, st, ProcNull, AnyTag, buf)
		}
	}
	procNull("Recv", comm.Recv(buf, ProcNull, 5))
	procNull("Recv AnyTag", comm.Recv(buf, ProcNull, AnyTag))
	procNull("Sendrecv", comm.Sendrecv([]float64{1}, ProcNull, 3, buf, ProcNull, 3))
	procNull("Probe", comm.Probe(ProcNull, 7))
	procNull("Probe AnyTag", comm.Probe(ProcNull, AnyTag))
	if st, ok := comm.Iprobe(ProcNull, AnyTag); !ok {
		t.Errorf("Iprobe(ProcNull) found no message; MPI says it completes at once")
	} else {
		procNull("Iprobe", st)
	}
	procNull("Irecv+Wait", comm.Irecv(buf, ProcNull, 1).Wait())
	req := comm.Irecv(buf, ProcNull, AnyTag)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, done := req.Test()
		if done {
			procNull("Irecv+Test", st)
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("Irecv from ProcNull: Test never completed")
			req.Wait()
			break
		}
		runtime.Gosched()
	}
	sts := WaitAll(comm.Irecv(buf, ProcNull, 2), comm.Isend([]float64{1}, ProcNull, 2))
	procNull("Irecv+WaitAll", sts[0])
	if sts[1].Source != ProcNull || sts[1].Tag != 2 {
		t.Errorf("Isend to ProcNull: WaitAll status %+v", sts[1])
	}
	if st := comm.Isend([]float64{1}, ProcNull, 4).Wait(); st.Source != ProcNull || st.Tag != 4 {
		t.Errorf("Isend to ProcNull: Wait status %+v", st)
	}
	x := 5
	if st := comm.RecvObj(&x, ProcNull, AnyTag); x != 5 || st.Source != ProcNull || st.Tag != AnyTag {
		t.Errorf("RecvObj from ProcNull: %d %+v", x, st)
	}

	// AnySource and AnyTag still match anything (on a communicator of
	// their own, so that nothing left over from another test interferes)
	c := comm.Dup()
	defer c.Free()
	right, left := (rank+1)%size, (rank-1+size)%size
	got := []int{-1}
	st := c.Sendrecv([]int{rank}, right, 40+rank, got, AnySource, AnyTag)
	if st.Source != left || st.Tag != 40+left || st.Count != 1 || got[0] != left {
		t.Errorf("Sendrecv from AnySource/AnyTag: got %v, status %+v, want from %d", got, st, left)
	}
	req = c.Isend([]int32{int32(rank), 7}, right, 50)
	st = c.Probe(AnySource, AnyTag)
	if st.Source != left || st.Tag != 50 || st.CountOf([]int32(nil)) != 2 {
		t.Errorf("Probe(AnySource, AnyTag): %+v", st)
	}
	pair := make([]int32, 2)
	if st := c.Irecv(pair, AnySource, AnyTag).Wait(); st.Source != left || st.Tag != 50 || pair[0] != int32(left) {
		t.Errorf("Irecv(AnySource, AnyTag): %v %+v", pair, st)
	}
	req.Wait()
	sent := make(chan struct{}) // a blocking send to oneself may wait for the receive
	go func() {
		c.SendObj(fmt.Sprint("from ", rank), right, 60+rank)
		close(sent)
	}()
	var msg string
	if st := c.RecvObj(&msg, AnySource, AnyTag); st.Source != left || st.Tag != 60+left || msg != fmt.Sprint("from ", left) {
		t.Errorf("RecvObj(AnySource, AnyTag): %q %+v", msg, st)
	}
	<-sent
	c.Barrier()
}

// TestNoAllocs: the blocking point-to-point calls allocate nothing, special
// ranks and tags included (their translation to MPI's values is a compare).
func TestNoAllocs(t *testing.T) {
	comm := needChild(t)
	me := comm.Rank()
	x, y := []float64{1, 2}, make([]float64, 2)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Sendrecv", func() { comm.Sendrecv(x, me, 1, y, me, 1) }},
		{"Sendrecv AnySource AnyTag", func() { comm.Sendrecv(x, me, 2, y, AnySource, AnyTag) }},
		{"Send ProcNull", func() { comm.Send(x, ProcNull, 3) }},
		{"Recv ProcNull", func() { comm.Recv(y, ProcNull, AnyTag) }},
		{"Probe ProcNull", func() { comm.Probe(ProcNull, 4) }},
	} {
		if n := testing.AllocsPerRun(200, c.f); n != 0 {
			t.Errorf("%s: %g allocations per call, want 0", c.name, n)
		}
	}
	comm.Barrier()
}

// TestPointerAndArrayBuffers: a pointer to one value is a 1-element buffer,
// a pointer to an array an n-element one.
func TestPointerAndArrayBuffers(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	x := float64(rank) + 0.5
	var y float64
	arr := [4]int16{int16(rank), 1, 2, 3}
	var got [4]int16
	mine := myFloat(rank)
	var theirs myFloat
	comm.Sendrecv(&x, right, 1, &y, left, 1)
	comm.Sendrecv(&arr, right, 2, &got, left, 2)
	comm.Sendrecv(&mine, right, 3, &theirs, left, 3)
	if y != float64(left)+0.5 || got != [4]int16{int16(left), 1, 2, 3} || theirs != myFloat(left) {
		t.Errorf("pointer buffers: got %v %v %v from rank %d", y, got, theirs, left)
	}
	n := 1
	var total int
	comm.Allreduce(&n, &total, Sum)
	if total != size {
		t.Errorf("Allreduce(&1) = %d, want %d", total, size)
	}
}

// TestSendrecv shifts every type around the ring with Sendrecv, and checks
// that ProcNull neighbours at the edges of a non-periodic line do nothing.
func TestSendrecv(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	for _, tc := range typeCases {
		// rank r sends 5+r%2 elements: lengths differ between neighbours
		send := tc.values(5+rank%2, rank)
		g := newGuarded(send, 5+left%2)
		st := comm.Sendrecv(send, right, 9, g.sub, left, 9)
		g.check(t, tc.values(5+left%2, left), "Sendrecv %s", tc.name)
		if st.Source != left || st.Tag != 9 || st.Count != 5+left%2 {
			t.Errorf("Sendrecv %s: status %+v", tc.name, st)
		}
	}
	// a line: the ends talk to ProcNull
	lo, hi := rank-1, rank+1
	if lo < 0 {
		lo = ProcNull
	}
	if hi >= size {
		hi = ProcNull
	}
	edge := []int{rank}
	halo := []int{-7}
	st := comm.Sendrecv(edge, hi, 4, halo, lo, 4)
	if lo == ProcNull {
		if halo[0] != -7 || st.Count != 0 || st.Source != ProcNull || st.Tag != AnyTag {
			t.Errorf("Sendrecv from ProcNull changed the buffer or status: %v %+v", halo, st)
		}
	} else if halo[0] != lo {
		t.Errorf("Sendrecv along a line: got %d from %d", halo[0], lo)
	}
}

// TestProbe sizes receives with Probe and Iprobe.
func TestProbe(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	n := 10 + left*3
	req := comm.Isend(make([]float64, 10+rank*3), right, 21)
	st := comm.Probe(left, 21)
	if st.Source != left || st.Tag != 21 || st.Count != 8*n || st.CountOf([]float64(nil)) != n || st.CountOf([]int32(nil)) != 2*n {
		t.Errorf("Probe: status %+v, CountOf(float64) %d, want %d elements", st, st.CountOf([]float64(nil)), n)
	}
	buf := make([]float64, st.CountOf([]float64(nil)))
	if rs := comm.Recv(buf, st.Source, st.Tag); rs.Count != n {
		t.Errorf("Recv after Probe: %+v", rs)
	}
	req.Wait()

	req = comm.Isend([]int64{1, 2, 3}, right, 22)
	deadline := time.Now().Add(20 * time.Second)
	var ok bool
	for !ok && time.Now().Before(deadline) {
		st, ok = comm.Iprobe(AnySource, 22)
		if !ok {
			runtime.Gosched()
		}
	}
	if !ok || st.Source != left || st.CountOf([]int64(nil)) != 3 {
		t.Errorf("Iprobe: %v %+v", ok, st)
	}
	comm.Recv(make([]int64, 3), left, 22)
	req.Wait()
	if _, ok := comm.Iprobe(AnySource, 23); ok {
		t.Errorf("Iprobe found a message nobody sent")
	}
	comm.Barrier()
}

// TestConcurrentSendRecv: at ThreadMultiple, goroutines send and receive
// concurrently (distinct tags keep their messages apart).
func TestConcurrentSendRecv(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	const workers, rounds = 4, 50
	errs := make(chan string, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			buf := make([]int, 16)
			for r := 0; r < rounds; r++ {
				send := make([]int, 16)
				for i := range send {
					send[i] = rank*1000000 + w*10000 + r*100 + i
				}
				req := comm.Isend(send, right, w)
				comm.Recv(buf, left, w)
				req.Wait()
				for i := range buf {
					if buf[i] != left*1000000+w*10000+r*100+i {
						errs <- "worker " + strconv.Itoa(w) + " got a message of another worker or round"
						return
					}
				}
			}
			errs <- ""
		}(w)
	}
	var msgs []string
	for w := 0; w < workers; w++ {
		if e := <-errs; e != "" {
			msgs = append(msgs, e)
		}
	}
	sort.Strings(msgs)
	if len(msgs) > 0 {
		t.Errorf("concurrent Send/Recv: %v", msgs)
	}
	comm.Barrier()
}

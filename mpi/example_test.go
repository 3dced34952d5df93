package mpi_test

// These examples are compiled but not run by go test (they have no Output
// comment): each is a program meant for mpirun, e.g. mpirun -n 4 ./prog.

import (
	"fmt"
	"log"
	"math"
	"os"

	"github.com/mpigo/mpigo/mpi"
)

// The classic first MPI program: every rank says hello.
func Example() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	fmt.Printf("hello from rank %d of %d on %s\n", comm.Rank(), comm.Size(), mpi.ProcessorName())
}

// Computing pi by integration, the mpi4py tutorial's reduction example.
func Example_pi() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	n := 1000000
	comm.Bcast(&n, 0)
	h := 1.0 / float64(n)
	var local float64
	for i := comm.Rank(); i < n; i += comm.Size() {
		x := h * (float64(i) + 0.5)
		local += 4 / (1 + x*x)
	}
	local *= h
	var pi float64
	comm.Reduce(&local, &pi, mpi.Sum, 0)
	if comm.Rank() == 0 {
		fmt.Printf("pi ~ %.12f, error %.2g\n", pi, math.Abs(pi-math.Pi))
	}
}

func ExampleInit() {
	mpi.Init()
	defer mpi.Finalize()
	fmt.Println("rank", mpi.World.Rank())
}

func ExampleInitThread() {
	if got := mpi.InitThread(mpi.ThreadFunneled); got < mpi.ThreadFunneled {
		log.Fatalf("MPI grants only %v", got)
	}
	defer mpi.Finalize()
}

func ExampleFinalize() {
	mpi.Init()
	defer mpi.Finalize() // directly: a panic in main then ends the job instead of hanging it
}

func ExampleInitialized() {
	if !mpi.Initialized() {
		mpi.Init()
	}
	defer mpi.Finalize()
}

func ExampleFinalized() {
	mpi.Init()
	mpi.Finalize()
	fmt.Println(mpi.Finalized()) // true
}

func ExampleThreadLevel() {
	mpi.Init()
	defer mpi.Finalize()
	if mpi.ThreadLevel() == mpi.ThreadMultiple {
		done := make(chan bool)
		go func() { // another goroutine may call MPI too
			mpi.World.Barrier()
			done <- true
		}()
		<-done
	}
}

func ExampleThreadSupport_String() {
	fmt.Println(mpi.ThreadMultiple) // MPI_THREAD_MULTIPLE
}

func ExampleIsThreadMain() {
	mpi.InitThread(mpi.ThreadFunneled)
	defer mpi.Finalize()
	fmt.Println(mpi.IsThreadMain()) // true in main
}

func ExampleWtime() {
	mpi.Init()
	defer mpi.Finalize()
	t0 := mpi.Wtime()
	mpi.World.Barrier()
	fmt.Printf("barrier: %.1f us (clock resolution %g s)\n", (mpi.Wtime()-t0)*1e6, mpi.Wtick())
}

func ExampleWtick() {
	fmt.Printf("Wtime resolution: %g s\n", mpi.Wtick())
}

func ExampleProcessorName() {
	mpi.Init()
	defer mpi.Finalize()
	var hosts []string
	mpi.World.GatherObj(mpi.ProcessorName(), &hosts, 0)
	if mpi.World.Rank() == 0 {
		fmt.Println(hosts)
	}
}

func ExampleLibraryVersion() {
	fmt.Println(mpi.LibraryVersion()) // no Init needed
}

func ExampleLibraryVersionShort() {
	fmt.Println(mpi.LibraryVersionShort()) // Open MPI v4.1.4
}

func ExampleImplementation() {
	// the launcher that matches the library, on Debian
	fmt.Println("mpirun." + mpi.Implementation())
}

func ExampleComm_Rank() {
	mpi.Init()
	defer mpi.Finalize()
	if mpi.World.Rank() == 0 {
		fmt.Println("I am the root")
	}
}

func ExampleComm_Size() {
	mpi.Init()
	defer mpi.Finalize()
	const total = 1000
	chunk := (total + mpi.World.Size() - 1) / mpi.World.Size()
	fmt.Println("each rank takes", chunk)
}

// Send and Recv with numpy-like buffers: mpi4py's comm.Send and comm.Recv.
func ExampleComm_Send() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	switch comm.Rank() {
	case 0:
		data := []float64{0, 1, 2, 3, 4}
		comm.Send(data, 1, 77)
	case 1:
		data := make([]float64, 5)
		st := comm.Recv(data, 0, 77)
		fmt.Println(data, "from rank", st.Source)
	}
}

func ExampleComm_Recv() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	if comm.Rank() != 0 {
		comm.Send([]int{comm.Rank(), comm.Rank() * comm.Rank()}, 0, comm.Rank())
		return
	}
	buf := make([]int, 10) // longer than any message
	for i := 1; i < comm.Size(); i++ {
		st := comm.Recv(buf, mpi.AnySource, mpi.AnyTag)
		fmt.Println("rank", st.Source, "tag", st.Tag, "sent", buf[:st.Count])
	}
}

// A ring shift: every rank passes its value to the right.
func ExampleComm_Sendrecv() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()
	mine, theirs := []int{rank}, []int{0}
	comm.Sendrecv(mine, (rank+1)%size, 0, theirs, (rank+size-1)%size, 0)
	fmt.Printf("rank %d got %d\n", rank, theirs[0])
}

func ExampleComm_Probe() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	if comm.Rank() == 1 {
		comm.Send(make([]float64, 42), 0, 3)
	} else if comm.Rank() == 0 && comm.Size() > 1 {
		st := comm.Probe(1, 3)
		buf := make([]float64, st.CountOf([]float64(nil)))
		comm.Recv(buf, st.Source, st.Tag)
		fmt.Println("received", len(buf), "values")
	}
}

func ExampleComm_Iprobe() {
	mpi.Init()
	defer mpi.Finalize()
	if st, ok := mpi.World.Iprobe(mpi.AnySource, mpi.AnyTag); ok {
		fmt.Println("a message is waiting from", st.Source)
	}
}

func ExampleStatus_CountOf() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	req := comm.Isend([]int32{1, 2, 3}, comm.Rank(), 0) // to ourselves
	st := comm.Probe(comm.Rank(), 0)
	fmt.Println(st.Count, "bytes =", st.CountOf([]int32(nil)), "int32s")
	comm.Recv(make([]int32, 3), comm.Rank(), 0)
	req.Wait()
}

// Non-blocking halo exchange: post both, compute, wait.
func ExampleComm_Isend() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()
	left, right := (rank+size-1)%size, (rank+1)%size
	edge, halo := []float64{float64(rank)}, make([]float64, 1)
	reqs := []*mpi.Request{
		comm.Irecv(halo, left, 0),
		comm.Isend(edge, right, 0),
	}
	// ... compute on the interior here ...
	mpi.WaitAll(reqs...)
	fmt.Printf("rank %d: halo from %d is %g\n", rank, left, halo[0])
}

func ExampleComm_Irecv() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	buf := make([]int, 4)
	req := comm.Irecv(buf, mpi.AnySource, 9)
	comm.Send([]int{1, 2}, comm.Rank(), 9) // to ourselves
	st := req.Wait()
	fmt.Println(buf[:st.Count])
}

func ExampleRequest_Wait() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	req := comm.Isend([]byte("hi"), comm.Rank(), 1)
	buf := make([]byte, 2)
	comm.Recv(buf, comm.Rank(), 1)
	req.Wait()
	fmt.Println(string(buf))
}

func ExampleRequest_Test() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	buf := make([]float64, 1)
	req := comm.Irecv(buf, comm.Rank(), 2)
	comm.Send([]float64{2.5}, comm.Rank(), 2)
	for {
		if _, done := req.Test(); done {
			break
		}
		// do some useful work meanwhile
	}
	fmt.Println(buf[0])
}

func ExampleWaitAll() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	me := comm.Rank()
	a, b := make([]int, 1), make([]int, 1)
	sts := mpi.WaitAll(
		comm.Irecv(a, me, 1), comm.Irecv(b, me, 2),
		comm.Isend([]int{10}, me, 1), comm.Isend([]int{20}, me, 2),
	)
	fmt.Println(a[0], b[0], sts[0].Tag, sts[1].Tag)
}

// Broadcasting an array: mpi4py's comm.Bcast.
func ExampleComm_Bcast() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	data := make([]int, 10)
	if comm.Rank() == 0 {
		for i := range data {
			data[i] = i
		}
	}
	comm.Bcast(data, 0)
	fmt.Println(comm.Rank(), data)
}

func ExampleComm_Scatter() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	var send []float64
	if comm.Rank() == 0 {
		send = make([]float64, 4*comm.Size())
		for i := range send {
			send[i] = float64(i)
		}
	}
	recv := make([]float64, 4)
	comm.Scatter(send, recv, 0)
	fmt.Println(comm.Rank(), recv)
}

func ExampleComm_Gather() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	var all []int // only root needs it
	if comm.Rank() == 0 {
		all = make([]int, comm.Size())
	}
	comm.Gather([]int{comm.Rank() * comm.Rank()}, all, 0)
	if comm.Rank() == 0 {
		fmt.Println(all)
	}
}

// The mpi4py tutorial's matrix-vector product gathers the vector everywhere.
func ExampleComm_Allgather() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	const m = 3 // rows per rank
	x := []float64{1, 2, 3}[:m]
	xg := make([]float64, m*comm.Size())
	comm.Allgather(x, xg)
	fmt.Println(len(xg))
}

// The workshop's uneven scatter: size*3+1 numbers split as numpy's
// array_split does (the first n%size parts one longer), then gathered back
// (mpi4py's comm.Scatterv([data, counts, MPI.DOUBLE], part, root=0)).
func ExampleComm_Scatterv() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	size, n := comm.Size(), comm.Size()*3+1
	counts := make([]int, size) // significant on root; every rank needs its own
	for i := range counts {
		counts[i] = n / size
		if i < n%size {
			counts[i]++
		}
	}
	var data []float64 // only root needs it
	if comm.Rank() == 0 {
		data = make([]float64, n)
		for i := range data {
			data[i] = float64(i)
		}
	}
	part := make([]float64, counts[comm.Rank()])
	comm.Scatterv(data, counts, nil, part, 0) // nil: parts packed in rank order
	fmt.Println(comm.Rank(), part)
}

// Every rank sends a different number of elements; root places them with
// explicit displacements, in reverse rank order.
func ExampleComm_Gatherv() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()
	mine := make([]int, rank+1) // rank r sends r+1 copies of r
	for i := range mine {
		mine[i] = rank
	}
	var all []int
	var counts, displs []int // only root needs them
	if rank == 0 {
		counts, displs = make([]int, size), make([]int, size)
		pos := 0
		for r := size - 1; r >= 0; r-- {
			counts[r], displs[r] = r+1, pos
			pos += r + 1
		}
		all = make([]int, pos)
	}
	comm.Gatherv(mine, all, counts, displs, 0)
	if rank == 0 {
		fmt.Println(all) // with 3 ranks: [2 2 2 1 1 0]
	}
}

func ExampleComm_Allgatherv() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	counts := make([]int, comm.Size()) // every rank passes the same counts
	total := 0
	for i := range counts {
		counts[i] = i + 1
		total += i + 1
	}
	mine := make([]float64, counts[comm.Rank()])
	for i := range mine {
		mine[i] = float64(comm.Rank())
	}
	all := make([]float64, total)
	comm.Allgatherv(mine, all, counts, nil)
	fmt.Println(comm.Rank(), all) // with 3 ranks: [0 1 1 2 2 2] everywhere
}

// A transpose of blocks: rank r's block i goes to rank i, where it becomes
// block r.
func ExampleComm_Alltoall() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()
	const k = 2 // elements per block
	send := make([]int, size*k)
	for i := range send {
		send[i] = 100*rank + i/k // block i holds 100*rank + i
	}
	recv := make([]int, size*k)
	comm.Alltoall(send, recv)
	fmt.Println(rank, recv) // block j holds 100*j + rank
}

// Rank r sends i+1 elements to rank i, so it receives r+1 from every rank.
func ExampleComm_Alltoallv() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()
	sendCounts, recvCounts := make([]int, size), make([]int, size)
	for i := 0; i < size; i++ {
		sendCounts[i] = i + 1    // what this rank sends to rank i
		recvCounts[i] = rank + 1 // what rank i sends to this rank
	}
	var send []float64
	for i := 0; i < size; i++ {
		for j := 0; j <= i; j++ {
			send = append(send, float64(10*rank+i))
		}
	}
	recv := make([]float64, size*(rank+1))
	comm.Alltoallv(send, sendCounts, nil, recv, recvCounts, nil) // nil: packed parts
	fmt.Println(rank, recv)
}

func ExampleComm_Reduce() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	partial := float64(comm.Rank())
	var total float64
	comm.Reduce(&partial, &total, mpi.Sum, 0) // total is set on rank 0 only
	if comm.Rank() == 0 {
		fmt.Println(total)
	}
}

func ExampleComm_Allreduce() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	local := []float64{float64(comm.Rank()), 1}
	sum := make([]float64, 2)
	comm.Allreduce(local, sum, mpi.Sum)
	comm.Allreduce(local, local, mpi.Max) // in place
	fmt.Println(sum, local)
}

func ExampleOp() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	converged := []bool{comm.Rank() >= 0}
	all := make([]bool, 1)
	comm.Allreduce(converged, all, mpi.LAnd)
	flags := []uint8{1 << uint(comm.Rank()%8)}
	union := make([]uint8, 1)
	comm.Allreduce(flags, union, mpi.BOr)
	fmt.Println(all[0], union[0], mpi.Sum)
}

func ExampleOp_String() {
	fmt.Println(mpi.Max) // Max
}

func ExampleComm_Barrier() {
	mpi.Init()
	defer mpi.Finalize()
	mpi.World.Barrier()
	if mpi.World.Rank() == 0 {
		fmt.Println("everyone got here")
	}
}

func ExampleComm_Split() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	row := comm.Split(comm.Rank()/2, comm.Rank()) // pairs of ranks
	defer row.Free()
	sum := make([]int, 1)
	row.Allreduce([]int{comm.Rank()}, sum, mpi.Sum)
	fmt.Printf("rank %d is %d of %d in its pair; pair sum %d\n", comm.Rank(), row.Rank(), row.Size(), sum[0])
}

func ExampleComm_Dup() {
	mpi.Init()
	defer mpi.Finalize()
	lib := mpi.World.Dup() // a library's own traffic never mixes with the caller's
	defer lib.Free()
	lib.Barrier()
}

func ExampleComm_Free() {
	mpi.Init()
	defer mpi.Finalize()
	evens := mpi.World.Split(map[bool]int{true: 0, false: mpi.Undefined}[mpi.World.Rank()%2 == 0], 0)
	evens.Free() // nil (odd ranks) is fine too
}

func ExampleComm_Abort() {
	mpi.Init()
	defer mpi.Finalize()
	if _, err := os.Stat("input.dat"); err != nil && mpi.World.Rank() == 0 {
		fmt.Fprintln(os.Stderr, err)
		mpi.World.Abort(1) // ends every rank
	}
}

// mpi4py's lowercase send/recv: any Go value, gob-encoded.
func ExampleComm_SendObj() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	switch comm.Rank() {
	case 0:
		comm.SendObj(map[string]any{"a": 7, "b": 3.14}, 1, 11)
	case 1:
		var data map[string]any
		comm.RecvObj(&data, 0, 11)
		fmt.Println(data)
	}
}

type particle struct {
	X, V float64
	Name string
}

func ExampleComm_RecvObj() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	if comm.Rank() != 0 {
		comm.SendObj(particle{X: float64(comm.Rank()), Name: "p"}, 0, 0)
		return
	}
	for i := 1; i < comm.Size(); i++ {
		var p particle
		st := comm.RecvObj(&p, mpi.AnySource, 0)
		fmt.Println("from", st.Source, p)
	}
}

func ExampleComm_BcastObj() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	var cfg map[string]int
	if comm.Rank() == 0 {
		cfg = map[string]int{"steps": 100, "size": 64}
	}
	comm.BcastObj(&cfg, 0)
	fmt.Println(comm.Rank(), cfg)
}

func ExampleComm_ScatterObj() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	var jobs [][]int // one entry per rank, on root
	if comm.Rank() == 0 {
		for i := 0; i < comm.Size(); i++ {
			jobs = append(jobs, []int{i, i * i})
		}
	}
	var job []int
	comm.ScatterObj(jobs, &job, 0)
	fmt.Println(comm.Rank(), job)
}

func ExampleComm_GatherObj() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	var results []string // filled on root
	comm.GatherObj(fmt.Sprintf("rank %d done", comm.Rank()), &results, 0)
	if comm.Rank() == 0 {
		fmt.Println(results)
	}
}

func ExampleComm_AllgatherObj() {
	mpi.Init()
	defer mpi.Finalize()
	var names []string
	mpi.World.AllgatherObj(mpi.ProcessorName(), &names)
	fmt.Println(names)
}

func ExampleError() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	defer func() {
		if e, ok := recover().(*mpi.Error); ok {
			fmt.Println("MPI said:", e.Msg, "on rank", e.Rank, "in", e.Call)
		}
	}()
	req := comm.Isend([]int{1, 2, 3}, comm.Rank(), 0)
	defer req.Wait()
	comm.Recv(make([]int, 1), comm.Rank(), 0) // too short: MPI_ERR_TRUNCATE
}

func ExampleUsageError() {
	mpi.Init()
	defer mpi.Finalize()
	defer func() {
		if e, ok := recover().(*mpi.UsageError); ok {
			fmt.Println(e) // mpi: Comm.Send: buf: unsupported type []string; ... use Comm.SendObj ...
		}
	}()
	mpi.World.Send([]string{"x"}, 0, 0)
}

func ExampleUsageError_Unwrap() {
	mpi.Init()
	defer mpi.Finalize()
	defer func() {
		if e, ok := recover().(*mpi.UsageError); ok {
			fmt.Println("gob says:", e.Unwrap()) // gob: type chan int has no exported fields ...
		}
	}()
	mpi.World.SendObj(make(chan int), 0, 0)
}

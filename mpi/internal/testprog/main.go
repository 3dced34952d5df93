// Command testprog is a plain Go MPI program the package tests build with
// `go build` and launch with mpirun: proof that a program importing
// github.com/mpigo/mpigo/mpi needs nothing else. With an argument it runs
// one of the failure scenarios the tests check (see main).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpi"
)

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	if mode == "preinit" {
		// misuse: an MPI call before Init
		fmt.Println(mpi.World.Rank())
	}
	if mode == "funneled" {
		funneled()
		return
	}
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()

	switch mode {
	case "":
		// hello: every rank reports, rank 0 checks a reduction
		sum := make([]int, 1)
		comm.Allreduce([]int{rank + 1}, sum, mpi.Sum)
		var names []string
		comm.GatherObj(fmt.Sprintf("rank %d of %d", rank, size), &names, 0)
		if rank == 0 {
			fmt.Printf("impl=%s thread=%s sum=%d want=%d\n", mpi.Implementation(), mpi.ThreadLevel(), sum[0], size*(size+1)/2)
			fmt.Println(strings.Join(names, "; "))
		}
	case "truncate":
		// MPI reports an error: rank 0 receives 4 elements into a buffer of 2
		if rank == 1 {
			comm.Send([]float64{1, 2, 3, 4}, 0, 5)
		} else if rank == 0 {
			comm.Recv(make([]float64, 2), 1, 5)
		}
		comm.Barrier()
	case "misuse":
		// misuse caught before MPI is called: a rank out of range
		comm.Send([]int{1}, size, 0)
	case "abort":
		// the last rank aborts while the others wait in a barrier
		if rank == size-1 {
			fmt.Fprintln(os.Stderr, "rank", rank, "aborting")
			comm.Abort(3)
		}
		comm.Barrier()
		comm.Barrier()
	case "finalize-busy":
		// a receiver that never gets its message while main finalizes: the
		// deferred Finalize refuses (MPI_Finalize crashed the receiver)
		go comm.Recv(make([]int, 1), (rank+1)%size, 99)
		waitInC("mpigo_recv")
		comm.Barrier()
	case "finalize-pending":
		// an Irecv never completed before Finalize
		comm.Irecv(make([]int, 1), (rank+1)%size, 98)
		comm.Barrier()
	default:
		fmt.Fprintln(os.Stderr, "testprog: unknown mode", mode)
		os.Exit(2)
	}
}

// waitInC waits (at most 10 s) until a goroutine is inside the C helper
// fn, as its stack shows.
func waitInC(fn string) {
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if strings.Contains(string(buf[:runtime.Stack(buf, true)]), "_Cfunc_"+fn) {
			return
		}
	}
}

// funneled runs at MPI_THREAD_FUNNELED: MPI calls from the main goroutine
// only, which stays on the thread that initialised MPI.
func funneled() {
	got := mpi.InitThread(mpi.ThreadFunneled)
	defer mpi.Finalize()
	comm := mpi.World
	if got < mpi.ThreadFunneled || mpi.ThreadLevel() != got {
		fmt.Println("funneled: granted", got)
		os.Exit(1)
	}
	onMain := mpi.IsThreadMain()
	other := make(chan bool)
	go func() {
		runtime.LockOSThread()
		other <- mpi.IsThreadMain()
	}()
	if !onMain || <-other {
		fmt.Println("funneled: IsThreadMain wrong")
		os.Exit(1)
	}
	// many calls from main, with goroutines and GCs around
	sum := make([]int, 1)
	for i := 0; i < 2000; i++ {
		comm.Allreduce([]int{1}, sum, mpi.Sum)
		if i%500 == 0 {
			runtime.GC()
		}
	}
	if comm.Rank() == 0 {
		fmt.Printf("funneled ok: %v, sum %d\n", got, sum[0])
	}
}

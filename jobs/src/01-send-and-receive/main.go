// Command 01-send-and-receive shows blocking point-to-point messages: rank 0
// waits a while (-delay, 1s) and then sends a map to every other rank with
// SendObj, one after another; each of them blocks in RecvObj until its
// message arrives and measures how long it waited.
//
// The original, src/01-send-and-receive.py, works with 2 ranks only: rank 0
// sends to rank 1, and ranks 2 and up neither send nor receive, so its last
// line, print(... data ...), fails with a NameError there and the job
// aborts. Here every rank declares data, and rank 0 sends to each rank 1 ..
// size-1, so it is correct for any number of ranks (with 1, nobody
// receives and rank 0 just keeps its data).
//
// Rank 0 does the printing: the other ranks send their reports to it at the
// end (GatherObj), so the output comes in rank order.
//
// Run it (from the repository):
//
//	bash jobs/build.sh                          # once, before sbatch: builds jobs/bin/
//	cd jobs && sbatch 01-send-and-receive.sh    # 4 ranks on 1 node
//	bash jobs/01-send-and-receive.sh            # without SLURM: 4 ranks (NP=2 for 2)
//	bin/mpigo run -n 4 jobs/src/01-send-and-receive -delay 2s
package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/mpigo/mpigo/mpi"
)

const tag = 42

func main() {
	delay := flag.Duration("delay", time.Second, "how long rank 0 waits before it sends")
	flag.Parse()

	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()

	var data map[string]int // nil until this rank has data: every rank has the variable
	var report string

	comm.Barrier() // start the clocks together
	if rank == 0 {
		data = map[string]int{"Dartmouth": 1769}
		switch size {
		case 1:
			fmt.Printf("I am rank 0 and have data=%v, but no other rank to send it to.\n", data)
		case 2:
			fmt.Printf("I am rank 0 and about to send data=%v to rank 1 in %v.\n", data, *delay)
		default:
			fmt.Printf("I am rank 0 and about to send data=%v to ranks 1..%d in %v.\n", data, size-1, *delay)
		}
		if size > 1 {
			time.Sleep(*delay)
		}
		for dest := 1; dest < size; dest++ {
			comm.SendObj(data, dest, tag) // blocks until MPI holds the message (buffered, or received)
		}
	} else {
		start := mpi.Wtime()
		comm.RecvObj(&data, 0, tag) // blocks until the message from rank 0 has arrived
		report = fmt.Sprintf("I am rank %d and received data=%v after waiting %.2f s.", rank, data, mpi.Wtime()-start)
	}

	var reports []string
	comm.GatherObj(report, &reports, 0)
	var finals []string
	comm.GatherObj(fmt.Sprintf("I am rank %d and I have data=%v.", rank, data), &finals, 0)
	if rank == 0 {
		for _, r := range reports[1:] {
			fmt.Println(r)
		}
		for _, f := range finals {
			fmt.Println(f)
		}
	}
}

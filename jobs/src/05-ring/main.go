// Command 05-ring passes a value around a ring of ranks with blocking Send
// and Recv: rank 0 starts with 0, and every rank adds one and sends the
// value to the next rank (rank+1, and from the last rank back to 0). After
// -laps laps (5) the value is back at rank 0 and equals laps*size.
//
// The original, src/XX-ring.py, sends five times from every rank but
// receives only four times on rank 0 (on the first lap it has nothing to
// receive), so the last rank's fifth send is never received. A blocking
// send of a small message usually returns anyway (MPI buffers it), so the
// program seems to work, but it ends with a message in flight, which MPI
// does not allow, and with a larger message (past the eager limit) the
// last rank would wait in that send forever. Here rank 0 receives once more
// after the last lap: every send has its receive, and rank 0 learns the
// final value.
//
// The ranks note each send; rank 0 gathers the notes at the end and prints
// them lap by lap, so the output shows the value's way around the ring.
//
// Run it (from the repository):
//
//	bash jobs/build.sh               # once, before sbatch: builds jobs/bin/
//	cd jobs && sbatch 05-ring.sh     # 4 ranks on 1 node
//	bash jobs/05-ring.sh             # without SLURM: 4 ranks (NP=8 for 8)
//	bin/mpigo run -n 4 jobs/src/05-ring -laps 3
package main

import (
	"flag"
	"fmt"

	"github.com/mpigo/mpigo/mpi"
)

func main() {
	laps := flag.Int("laps", 5, "times the value goes around the ring")
	flag.Parse()

	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()
	next, prev := (rank+1)%size, (rank-1+size)%size

	buf := []int{0} // the value travels as a one-element buffer
	var notes []string
	note := func(lap int) {
		notes = append(notes, fmt.Sprintf("lap %d: I am rank %d and I am sending data=%d to rank %d", lap, rank, buf[0], next))
	}
	for lap := 1; lap <= *laps; lap++ {
		if size == 1 {
			// A ring of one: rank 0 sends to itself, and a blocking Send
			// to oneself may wait forever for the Recv after it. Sendrecv
			// does both at once (into another buffer: MPI forbids one
			// buffer for both).
			buf[0]++
			note(lap)
			in := []int{0}
			comm.Sendrecv(buf, next, 0, in, prev, 0)
			buf[0] = in[0]
			continue
		}
		if rank != 0 || lap > 1 { // rank 0 starts the first lap with its 0
			comm.Recv(buf, prev, 0)
		}
		buf[0]++
		note(lap)
		comm.Send(buf, next, 0)
	}
	if rank == 0 && size > 1 {
		comm.Recv(buf, prev, 0) // the last lap's send: the receive the original is missing
	}

	var all [][]string // rank 0 only: all[i] are rank i's notes
	comm.GatherObj(notes, &all, 0)
	if rank == 0 {
		for lap := 0; lap < *laps; lap++ {
			for r := range all {
				fmt.Println(all[r][lap])
			}
		}
		fmt.Printf("after %d laps rank 0 has data=%d (%d laps x %d ranks)\n", *laps, buf[0], *laps, size)
	}
}

// Command 04-gather shows a gather: every rank contributes one value (its
// rank, as in the original) and rank 0 receives them all, in rank order:
// element i came from rank i. The other ranks get nothing back.
//
// It gathers twice, to show both forms package mpi has:
//
//   - GatherObj (mpi4py's data = comm.gather(data, root=0)): any Go value,
//     encoded with encoding/gob; the root gets a new slice, here []int.
//   - Gather (mpi4py's comm.Gather(sendbuf, recvbuf, root=0)): numeric
//     buffers passed to MPI without copying; every rank sends the same
//     number of elements and the root provides room for Size() times that.
//
// Rank 0 prints what each rank holds after the gather (the other ranks send
// it their notes), so the output comes in rank order.
//
// Run it (from the repository):
//
//	bash jobs/build.sh                 # once, before sbatch: builds jobs/bin/
//	cd jobs && sbatch 04-gather.sh     # 4 ranks on 1 node
//	bash jobs/04-gather.sh             # without SLURM: 4 ranks (NP=8 for 8)
//	bin/mpigo run -n 4 jobs/src/04-gather
package main

import (
	"fmt"

	"github.com/mpigo/mpigo/mpi"
)

func main() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()

	data := rank

	// Any value: the root's slice is made for it; elsewhere it stays nil.
	var gathered []int
	comm.GatherObj(data, &gathered, 0)

	// Numeric buffers: one int from each rank into size ints on the root
	// (the receive buffer is ignored on the other ranks and may be nil).
	var squares []int
	if rank == 0 {
		squares = make([]int, size)
	}
	comm.Gather([]int{data * data}, squares, 0)

	note := "None"
	if gathered != nil {
		note = fmt.Sprint(gathered)
	}
	var notes []string // rank 0 only: notes[i] came from rank i
	comm.GatherObj(note, &notes, 0)
	if rank == 0 {
		fmt.Println("after comm.GatherObj(data, &gathered, 0), with data = rank:")
		for r, n := range notes {
			fmt.Printf("  I am rank %d and my data is %s\n", r, n)
		}
		fmt.Printf("after comm.Gather([]int{data * data}, squares, 0), rank 0 has squares=%v\n", squares)
	}
}

// Command 02-broadcast shows a broadcast: rank 0 has a map, the other ranks
// have none; after BcastObj (mpi4py's data = comm.bcast(data, root=0))
// every rank has its own copy of rank 0's map.
//
// Every rank notes what it holds before and after the broadcast; rank 0
// gathers the notes (GatherObj) and prints them in rank order.
//
// Run it (from the repository):
//
//	bash jobs/build.sh                    # once, before sbatch: builds jobs/bin/
//	cd jobs && sbatch 02-broadcast.sh     # 4 ranks on 1 node
//	bash jobs/02-broadcast.sh             # without SLURM: 4 ranks (NP=8 for 8)
//	bin/mpigo run -n 4 jobs/src/02-broadcast
package main

import (
	"fmt"

	"github.com/mpigo/mpigo/mpi"
)

// show writes data as the Python original prints it: None for no data.
func show(data map[string]int) string {
	if data == nil {
		return "None"
	}
	return fmt.Sprint(data)
}

func main() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank := comm.Rank()

	var data map[string]int
	if rank == 0 {
		data = map[string]int{"Dartmouth": 1769}
	}
	before := show(data)

	// Every rank passes a pointer to a variable of the same type; on the
	// root it is sent, elsewhere overwritten with what was sent.
	comm.BcastObj(&data, 0)

	after := show(data)

	var notes [][2]string // rank 0 only: notes[i] came from rank i
	comm.GatherObj([2]string{before, after}, &notes, 0)
	if rank == 0 {
		fmt.Println("before the broadcast:")
		for r, n := range notes {
			fmt.Printf("  I am rank %d and my data is %s\n", r, n[0])
		}
		fmt.Println("after the broadcast:")
		for r, n := range notes {
			fmt.Printf("  I am rank %d and my data is %s\n", r, n[1])
		}
	}
}

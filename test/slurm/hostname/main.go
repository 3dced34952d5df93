// Command hostname is the MPI program of the SLURM tests (test/e2e/test_slurm.py):
// every rank sends rank, world size and host name to rank 0, which prints
// one line per rank in rank order, then the sum of an Allreduce, so that a
// job whose ranks sit on different nodes shows it and proves their
// messages crossed the network.
package main

import (
	"fmt"
	"os"

	"github.com/mpigo/mpigo/mpi"
)

func main() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()
	host, _ := os.Hostname()
	var lines []string
	comm.GatherObj(fmt.Sprintf("rank %d of %d on %s", rank, size, host), &lines, 0)
	sum := make([]int, 1)
	comm.Allreduce([]int{rank + 1}, sum, mpi.Sum)
	if rank == 0 {
		for _, l := range lines {
			fmt.Println(l)
		}
		fmt.Printf("allreduce sum=%d want=%d\n", sum[0], size*(size+1)/2)
	}
}

// Command 03-scatter shows a scatter of uneven parts: rank 0 makes an array
// of size*3+1 numbers, splits it into size parts whose lengths differ by at
// most one (as numpy's array_split does: the first (size*3+1) % size parts
// get one element more), and gives part i to rank i.
//
// Package mpi's Scatter (MPI_Scatter) hands every rank the same number of
// elements: on the root, len(send) must be Size()*len(recv), and size*3+1
// never is. MPI's answer for uneven parts is MPI_Scatterv, Comm.Scatterv:
// root passes a count per rank (and a displacement, nil here: the parts
// lie one after the other), and rank i receives counts[i] elements into a
// slice of that length. Every rank computes the counts itself; no message
// is needed for them. The numbers go as raw bytes, nothing is encoded.
// (mpi4py's lowercase comm.scatter of np.array_split's parts, what the
// original uses, is Comm.ScatterObj in Go: notebook 02 shows both.)
//
// Every rank notes what it holds before and after the scatter; rank 0
// gathers the notes and prints them in rank order.
//
// Run it (from the repository):
//
//	bash jobs/build.sh                  # once, before sbatch: builds jobs/bin/
//	cd jobs && sbatch 03-scatter.sh     # 4 ranks on 1 node
//	bash jobs/03-scatter.sh             # without SLURM: 4 ranks (NP=8 for 8)
//	bin/mpigo run -n 4 jobs/src/03-scatter
package main

import (
	"fmt"

	"github.com/mpigo/mpigo/mpi"
)

// counts are the lengths of n consecutive parts of n elements that differ
// by at most one, the longer ones first (numpy.array_split).
func counts(total, n int) []int {
	cs := make([]int, n)
	for i := range cs {
		cs[i] = total / n
		if i < total%n {
			cs[i]++
		}
	}
	return cs
}

// split cuts data into parts of the given lengths.
func split(data []int, lengths []int) [][]int {
	parts := make([][]int, len(lengths))
	start := 0
	for i, l := range lengths {
		parts[i] = data[start : start+l]
		start += l
	}
	return parts
}

func main() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()

	n := size*3 + 1
	cs := counts(n, size) // every rank knows them
	var data []int        // only rank 0 has the data
	before := "nothing"
	if rank == 0 {
		data = make([]int, n)
		for i := range data {
			data[i] = i
		}
		fmt.Printf("I am rank 0 and I am preparing to scatter an array of size=%d across %d ranks: %v\n", len(data), size, data)
		before = fmt.Sprint(split(data, cs))
	}

	mine := make([]int, cs[rank])
	comm.Scatterv(data, cs, nil, mine, 0) // cs[i] elements go to rank i; data matters on rank 0 only

	var notes [][2]string // rank 0 only: notes[i] came from rank i
	comm.GatherObj([2]string{before, fmt.Sprintf("%v (%d elements)", mine, len(mine))}, &notes, 0)
	if rank == 0 {
		fmt.Println("before the scatter:")
		for r, n := range notes {
			fmt.Printf("  rank %d has %s\n", r, n[0])
		}
		fmt.Println("after the scatter:")
		for r, n := range notes {
			fmt.Printf("  rank %d has %s\n", r, n[1])
		}
	}
}

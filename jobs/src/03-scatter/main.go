// Command 03-scatter shows a scatter of uneven parts: rank 0 makes an array
// of size*3+1 numbers, splits it into size parts whose lengths differ by at
// most one (as numpy's array_split does: the first (size*3+1) % size parts
// get one element more), and gives part i to rank i.
//
// Package mpi's Scatter (MPI_Scatter) hands every rank the same number of
// elements: on the root, len(send) must be Size()*len(recv), and size*3+1
// never is. MPI's answer for uneven parts is MPI_Scatterv, which package mpi
// does not offer; what it offers is ScatterObj (mpi4py's lowercase
// comm.scatter, what the original uses): the root passes a slice with one
// element per rank, here a [][]int of per-rank parts, and each rank
// receives its element, whatever its length (ScatterObj encodes each part
// with encoding/gob and sends the bytes with MPI_Scatterv). For large
// numeric arrays, an alternative is Scatter of the equal parts
// (len(data)/size each) plus a separate Send of the remainder.
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

// split cuts data into n consecutive parts whose lengths differ by at most
// one, the longer ones first (numpy.array_split).
func split(data []int, n int) [][]int {
	parts := make([][]int, n)
	q, r := len(data)/n, len(data)%n
	start := 0
	for i := range parts {
		end := start + q
		if i < r {
			end++
		}
		parts[i] = data[start:end]
		start = end
	}
	return parts
}

func main() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()

	var parts [][]int // only rank 0 has the parts
	if rank == 0 {
		data := make([]int, size*3+1)
		for i := range data {
			data[i] = i
		}
		fmt.Printf("I am rank 0 and I am preparing to scatter an array of size=%d across %d ranks: %v\n", len(data), size, data)
		parts = split(data, size)
	}
	before := "nothing"
	if parts != nil {
		before = fmt.Sprint(parts)
	}

	var mine []int
	comm.ScatterObj(parts, &mine, 0) // parts[i] goes to rank i; other ranks pass nil

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

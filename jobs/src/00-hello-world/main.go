// Command 00-hello-world is MPI's hello world: every rank reports its rank,
// the number of ranks (the size of mpi.World) and the node it runs on.
//
// Rank 0 gathers the reports (GatherObj) and prints them in rank order, then
// how many ranks run on each node: in a batch job's output file the lines
// of the ranks would otherwise come in any order.
//
// The original, src/00-hello-world.py, takes the node's name from
// $SLURMD_NODENAME and so fails outside SLURM; mpi.ProcessorName
// (MPI_Get_processor_name) works under any launcher.
//
// Run it (from the repository):
//
//	bash jobs/build.sh                      # once, before sbatch: builds jobs/bin/
//	cd jobs && sbatch 00-hello-world.sh     # 2 nodes, 2 ranks each
//	bash jobs/00-hello-world.sh             # without SLURM: 4 ranks (NP=8 for 8)
//	bin/mpigo run -n 4 jobs/src/00-hello-world
package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mpigo/mpigo/mpi"
)

// Report is what each rank tells rank 0.
type Report struct {
	Rank, Size int
	Host       string
}

func main() {
	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()

	me := Report{Rank: rank, Size: size, Host: mpi.ProcessorName()}
	var all []Report // filled on rank 0 only: all[i] came from rank i
	comm.GatherObj(me, &all, 0)

	if rank != 0 {
		return
	}
	library := strings.Join(strings.Fields(mpi.LibraryVersionShort()), " ") // "Open MPI v4.1.4"
	fmt.Printf("%s, %d ranks\n", library, size)
	perHost := map[string]int{}
	for _, r := range all {
		fmt.Printf("Hello, world! I am rank %d of %d, running on %s!\n", r.Rank, r.Size, r.Host)
		perHost[r.Host]++
	}
	hosts := make([]string, 0, len(perHost))
	for h := range perHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	counts := make([]string, len(hosts))
	for i, h := range hosts {
		counts[i] = fmt.Sprintf("%s: %d", h, perHost[h])
	}
	fmt.Printf("ranks per node: %s\n", strings.Join(counts, ", "))
}

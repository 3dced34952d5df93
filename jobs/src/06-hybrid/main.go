// Command 06-hybrid combines the two levels of parallelism of a cluster:
// MPI ranks across nodes (one rank per node) and goroutines within a node
// (one per CPU the job gives each rank, --cpus-per-task). The work is
// -items items that take 1 ms each on one CPU (-work): a fixed amount of
// arithmetic, calibrated on rank 0, standing in for a real computation.
// Rank 0 times three runs of it with mpi.Wtime:
//
//   - 1 CPU: rank 0 alone, one goroutine;
//   - 1 node: rank 0 alone, -cpus goroutines;
//   - all nodes: rank 0 scatters the items over every rank (ScatterObj of
//     per-rank parts, as in 03-scatter), each rank works through its part
//     with -cpus goroutines, and rank 0 gathers the results (GatherObj).
//
// and prints the speedups against the ideal ones (the factor by which the
// CPUs put to work grow), in a table of four rows: 1 CPU; 1 node vs 1 CPU
// (ideal: the CPUs per node); all nodes vs 1 node (ideal: the nodes); all
// nodes vs 1 CPU (ideal: all CPUs). For the job's 2 nodes x 4 CPUs the
// ideal speedups are 4, 2 and 8 (8 nodes x 16 CPUs: 16, 8 and 128).
//
// The original, src/05-parallel.py, uses a multiprocessing.Pool per node,
// which starts processes and pickles every item to them; goroutines share
// the rank's memory and cost microseconds to start.
//
// -cpus defaults to $SLURM_CPUS_PER_TASK, else to the CPUs this process may
// run on. The goroutines only run in parallel when the rank may use that
// many CPUs: the launcher must not bind the rank to one core (srun with
// --cpus-per-task, mpiexec --bind-to none), or the table shows it.
//
// Run it (from the repository):
//
//	bash jobs/build.sh                 # once, before sbatch: builds jobs/bin/
//	cd jobs && sbatch 06-hybrid.sh     # 2 nodes x 4 CPUs, 20000 items (20 s on 1 CPU)
//	bash jobs/06-hybrid.sh             # without SLURM: 2 ranks, 2000 items
//	bin/mpigo run -n 2 jobs/src/06-hybrid -cpus 1 -items 1000
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpigo/mpigo/mpi"
)

// sink keeps the compiler from dropping work's loop.
var sink atomic.Uint64

// work stands in for a computation on one item: rounds steps of
// arithmetic (a linear congruential generator), the same for every item.
// It computes rather than waiting on the clock, as the original does: a
// clock-watching loop finishes its millisecond even while its thread waits
// for a CPU, and so shows speedups no CPU delivered when ranks share cores.
func work(item, rounds int) int {
	x := uint64(item)
	for range rounds {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if x == 0 {
		sink.Add(1)
	}
	return item
}

// calibrate returns the rounds of work that take d on this CPU when the
// process has it to itself: the fastest of a few timings, since other
// processes on a shared machine can only make a timing slower.
func calibrate(d time.Duration) int {
	rounds := 1000
	for {
		best := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			work(1, rounds)
			best = min(best, time.Since(start))
		}
		if best >= 5*time.Millisecond {
			return max(1, int(float64(rounds)*float64(d)/float64(best)))
		}
		rounds *= 2
	}
}

// process applies work to every item with n goroutines, each taking the
// next item not yet taken, and returns the results in the items' order.
func process(items []int, n, rounds int) []int {
	results := make([]int, len(items))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				results[i] = work(items[i], rounds)
			}
		}()
	}
	wg.Wait()
	return results
}

// split cuts items into n consecutive parts whose lengths differ by at most
// one (numpy.array_split).
func split(items []int, n int) [][]int {
	parts := make([][]int, n)
	q, r := len(items)/n, len(items)%n
	start := 0
	for i := range parts {
		end := start + q
		if i < r {
			end++
		}
		parts[i] = items[start:end]
		start = end
	}
	return parts
}

// count writes n and the noun, in the plural unless n is 1: "4 CPUs".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func defaultCPUs() int {
	if n, err := strconv.Atoi(os.Getenv("SLURM_CPUS_PER_TASK")); err == nil && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

func main() {
	nItems := flag.Int("items", 20000, "number of work items")
	cpus := flag.Int("cpus", defaultCPUs(), "goroutines per rank: the CPUs of each node (rank)")
	d := flag.Duration("work", time.Millisecond, "time one work item takes on one CPU")
	flag.Parse()

	mpi.Init()
	defer mpi.Finalize()
	comm := mpi.World
	rank, size := comm.Rank(), comm.Size()
	if *cpus < 1 || *nItems < 0 {
		if rank == 0 {
			fmt.Fprintln(os.Stderr, "06-hybrid: -cpus must be at least 1 and -items at least 0")
		}
		comm.Abort(2)
	}

	var hosts []string
	comm.GatherObj(mpi.ProcessorName(), &hosts, 0)
	var items []int // the work, on rank 0
	rounds := []int{0}
	if rank == 0 {
		rounds[0] = calibrate(*d)
		slices.Sort(hosts)
		nodes := len(slices.Compact(hosts))
		fmt.Printf("%s of %v (%d rounds of arithmetic); %s on %s, %s (goroutines) per rank\n",
			count(*nItems, "work item"), *d, rounds[0], count(size, "rank"), count(nodes, "node"), count(*cpus, "CPU"))
		if nodes < size {
			fmt.Printf("note: ranks share nodes here, so a \"node\" below is a rank with its %s\n", count(*cpus, "CPU"))
		}
		if n := runtime.NumCPU(); n < *cpus {
			fmt.Printf("note: rank 0 may run on %s only, fewer than -cpus %d: its goroutines take turns\n", count(n, "CPU"), *cpus)
		}
		items = make([]int, *nItems)
		for i := range items {
			items[i] = i
		}
	}
	comm.Bcast(rounds, 0) // every rank does the same work per item

	check := func(what string, results []int) {
		if !slices.Equal(results, items) {
			fmt.Fprintf(os.Stderr, "06-hybrid: %s: wrong results\n", what)
			comm.Abort(1)
		}
	}

	// 1 CPU: rank 0 alone with one goroutine; the others wait at the barrier
	comm.Barrier()
	start := mpi.Wtime()
	if rank == 0 {
		check("1 CPU", process(items, 1, rounds[0]))
	}
	oneCPU := mpi.Wtime() - start

	// 1 node: rank 0 alone with -cpus goroutines
	comm.Barrier()
	start = mpi.Wtime()
	if rank == 0 {
		check("1 node", process(items, *cpus, rounds[0]))
	}
	oneNode := mpi.Wtime() - start

	// all nodes: every rank takes its part, with -cpus goroutines
	comm.Barrier()
	start = mpi.Wtime()
	var parts [][]int
	if rank == 0 {
		parts = split(items, size)
	}
	var part []int
	comm.ScatterObj(parts, &part, 0)
	var results [][]int
	comm.GatherObj(process(part, *cpus, rounds[0]), &results, 0)
	allNodes := mpi.Wtime() - start

	if rank != 0 {
		return
	}
	check(count(size, "node"), slices.Concat(results...))
	rows := []struct {
		what       string
		time, base float64
		ideal      int
	}{
		{"1 CPU", oneCPU, oneCPU, 1},
		{"1 node (" + count(*cpus, "CPU") + ") vs 1 CPU", oneNode, oneCPU, *cpus},
		{count(size, "node") + " vs 1 node", allNodes, oneNode, size},
		{count(size, "node") + " (" + count(size**cpus, "CPU") + ") vs 1 CPU", allNodes, oneCPU, size * *cpus},
	}
	fmt.Printf("%-30s %9s %8s %6s %11s\n", "what", "time (s)", "speedup", "ideal", "efficiency")
	for _, r := range rows {
		speedup := r.base / r.time
		fmt.Printf("%-30s %9.3f %8.2f %6d %10.0f%%\n", r.what, r.time, speedup, r.ideal, 100*speedup/float64(r.ideal))
	}
}

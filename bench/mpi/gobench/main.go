// Command gobench is bench/mpi/bench.c over package mpi: the same
// measurements, the same output, so run.sh can print Go/C ratios.
//
//	gobench pingpong [single|multiple]   on 2 ranks: 8-byte round trip, 1 MiB bandwidth
//	gobench allreduce [single|multiple]  Allreduce (sum) of 1M float64
//	gobench calls [single|multiple]      nanoseconds per hot call on a no-op
//	                                     peer, and of a bare cgo call
//	gobench version                      the MPI library, without MPI_Init
package main

/*
// nop is the cheapest C function: a call of it from Go is cgo's own cost,
// the floor of any binding.
static int nop(int x) { return x; }
*/
import "C"

import (
	"fmt"
	"os"
	"sort"

	"github.com/mpigo/mpigo/mpi"
)

const samples = 21

func report(name string, v []float64, unit string) {
	sort.Float64s(v)
	if mpi.World.Rank() == 0 {
		fmt.Printf("%s %.4f %.4f %s\n", name, v[len(v)/2], v[0], unit)
	}
}

// pingpong returns seconds per round trip of buf between ranks 0 and 1.
func pingpong(comm *mpi.Comm, buf []float64, iters int) float64 {
	rank := comm.Rank()
	comm.Barrier()
	t0 := mpi.Wtime()
	for i := 0; i < iters; i++ {
		switch rank {
		case 0:
			comm.Send(buf, 1, 0)
			comm.Recv(buf, 1, 0)
		case 1:
			comm.Recv(buf, 0, 0)
			comm.Send(buf, 0, 0)
		}
	}
	return (mpi.Wtime() - t0) / float64(iters)
}

func main() {
	mode, level := "pingpong", mpi.ThreadMultiple
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	if mode == "version" { // no MPI job needed
		fmt.Println(mpi.LibraryVersionShort())
		return
	}
	if len(os.Args) > 2 && os.Args[2] == "single" {
		level = mpi.ThreadSingle
	}
	provided := mpi.InitThread(level)
	defer mpi.Finalize()
	comm := mpi.World
	rank := comm.Rank()
	v := make([]float64, samples)

	switch mode {
	case "calls":
		calls(v)
	case "pingpong":
		const big = 1 << 17 // 1 MiB of float64
		buf := make([]float64, big)
		small := buf[:1]
		pingpong(comm, small, 20000)
		for s := range v {
			v[s] = pingpong(comm, small, 20000) * 1e6
		}
		report("latency_8B_rtt", v, "us")
		pingpong(comm, buf, 50)
		for s := range v {
			v[s] = -2 * big * 8 / pingpong(comm, buf, 100) / 1e6
		}
		sort.Float64s(v)
		if rank == 0 {
			fmt.Printf("bandwidth_1MiB %.1f %.1f MB/s\n", -v[samples/2], -v[0])
		}
	default:
		const n = 1 << 20
		const iters = 10
		in, out := make([]float64, n), make([]float64, n)
		for i := range in {
			in[i] = float64(rank) + float64(i)*1e-6
		}
		comm.Allreduce(in, out, mpi.Sum)
		t, tmax := make([]float64, 1), make([]float64, 1)
		for s := range v {
			comm.Barrier()
			t0 := mpi.Wtime()
			for i := 0; i < iters; i++ {
				comm.Allreduce(in, out, mpi.Sum)
			}
			t[0] = (mpi.Wtime() - t0) / iters
			comm.Allreduce(t, tmax, mpi.Max)
			v[s] = tmax[0] * 1e3
		}
		report("allreduce_1M_f64", v, "ms")
	}
	if rank == 0 {
		fmt.Printf("thread_level %d ranks %d\n", int(provided), comm.Size())
	}
}

const callIters = 200000

// calls reports nanoseconds per call of the hot calls where MPI does
// nothing (ProcNull, Self), as bench.c's calls does in C, and of a bare cgo
// call: the binding's own cost is the difference with C, against that floor.
func calls(v []float64) {
	buf, out := []float64{1}, []float64{0}
	names := []string{"call_send_procnull", "call_recv_procnull", "call_isend_wait_procnull", "call_allreduce_self_8B", "cgo_nop"}
	for c, name := range names {
		for s := -1; s < len(v); s++ { // -1: warm-up
			t0 := mpi.Wtime()
			switch c {
			case 0:
				for i := 0; i < callIters; i++ {
					mpi.World.Send(buf, mpi.ProcNull, 0)
				}
			case 1:
				for i := 0; i < callIters; i++ {
					mpi.World.Recv(buf, mpi.ProcNull, 0)
				}
			case 2:
				for i := 0; i < callIters; i++ {
					mpi.World.Isend(buf, mpi.ProcNull, 0).Wait()
				}
			case 3:
				for i := 0; i < callIters; i++ {
					mpi.Self.Allreduce(buf, out, mpi.Sum)
				}
			default:
				for i := 0; i < callIters; i++ {
					C.nop(C.int(i))
				}
			}
			if s >= 0 {
				v[s] = (mpi.Wtime() - t0) / callIters * 1e9
			}
		}
		report(name, v, "ns")
	}
}

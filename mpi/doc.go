// Package mpi is a cgo binding of MPI with mpi4py's shape, so that the
// mpi4py workshop translates line for line into Go. It works with Open MPI
// and MPICH (and MPICH derivatives), passes Go slices to MPI without copying,
// and turns every failure into a panic that says what went wrong and where.
//
//	package main
//
//	import (
//		"fmt"
//
//		"github.com/mpigo/mpigo/mpi"
//	)
//
//	func main() {
//		mpi.Init()
//		defer mpi.Finalize()
//		comm := mpi.World
//		sum := make([]float64, 1)
//		comm.Allreduce([]float64{float64(comm.Rank())}, sum, mpi.Sum)
//		fmt.Printf("rank %d of %d: sum of ranks %g\n", comm.Rank(), comm.Size(), sum[0])
//	}
//
// Build it with go build and run it with mpirun -n 4 ./prog. In a %mpirun
// notebook cell, Init, Finalize and the import are added for you.
//
// # From mpi4py
//
//	mpi4py                                        package mpi
//	--------------------------------------------  ------------------------------------------
//	from mpi4py import MPI                        import "github.com/mpigo/mpigo/mpi"
//	(MPI is initialised on import)                mpi.Init(); defer mpi.Finalize()
//	comm = MPI.COMM_WORLD                         comm := mpi.World
//	comm.Get_rank(), comm.rank                    comm.Rank()
//	comm.Get_size(), comm.size                    comm.Size()
//	MPI.Get_processor_name()                      mpi.ProcessorName()
//	MPI.Wtime(), MPI.Wtick()                      mpi.Wtime(), mpi.Wtick()
//	comm.send(obj, dest=1, tag=11)                comm.SendObj(obj, 1, 11)
//	obj = comm.recv(source=0, tag=11)             comm.RecvObj(&obj, 0, 11)
//	comm.Send([data, MPI.DOUBLE], dest=1, tag=7)  comm.Send(data, 1, 7)
//	comm.Recv([data, MPI.DOUBLE], source=0, tag=7)  comm.Recv(data, 0, 7)
//	comm.Recv(buf, MPI.ANY_SOURCE, MPI.ANY_TAG, status=st)  st := comm.Recv(buf, mpi.AnySource, mpi.AnyTag)
//	st.Get_source(), st.Get_tag()                 st.Source, st.Tag
//	st.Get_count(MPI.DOUBLE)                      st.Count (or st.CountOf([]float64(nil)) after Probe)
//	comm.Sendrecv(s, dest, 0, r, source, 0)       comm.Sendrecv(s, dest, 0, r, source, 0)
//	comm.Probe(source, tag, status=st)            st := comm.Probe(source, tag)
//	comm.Iprobe(source, tag)                      st, ok := comm.Iprobe(source, tag)
//	req = comm.Isend([data, MPI.INT], dest=1)     req := comm.Isend(data, 1, 0)
//	req = comm.Irecv([data, MPI.INT], source=0)   req := comm.Irecv(data, 0, 0)
//	req.Wait(), req.Test()                        st := req.Wait(); st, done := req.Test()
//	MPI.Request.Waitall([r1, r2])                 mpi.WaitAll(r1, r2)
//	data = comm.bcast(data, root=0)               comm.BcastObj(&data, 0)
//	comm.Bcast(data, root=0)                      comm.Bcast(data, 0)
//	data = comm.scatter(data, root=0)             comm.ScatterObj(list, &item, 0)
//	comm.Scatter(sendbuf, recvbuf, root=0)        comm.Scatter(sendbuf, recvbuf, 0)
//	data = comm.gather(data, root=0)              comm.GatherObj(data, &list, 0)
//	comm.Gather(sendbuf, recvbuf, root=0)         comm.Gather(sendbuf, recvbuf, 0)
//	data = comm.allgather(data)                   comm.AllgatherObj(data, &list)
//	comm.Allgather(sendbuf, recvbuf)              comm.Allgather(sendbuf, recvbuf)
//	comm.Scatterv, Gatherv, Allgatherv            comm.Scatterv, Gatherv, Allgatherv (see Uneven parts)
//	comm.Alltoall, Alltoallv                      comm.Alltoall, Alltoallv (see Uneven parts)
//	total = comm.reduce(x, op=MPI.SUM, root=0)    comm.Reduce(&x, &total, mpi.Sum, 0)
//	comm.Reduce(sendbuf, recvbuf, MPI.SUM, 0)     comm.Reduce(sendbuf, recvbuf, mpi.Sum, 0)
//	m = comm.allreduce(x, op=MPI.MAX)             comm.Allreduce(&x, &m, mpi.Max)
//	comm.Allreduce(sendbuf, recvbuf, MPI.SUM)     comm.Allreduce(sendbuf, recvbuf, mpi.Sum)
//	MPI.IN_PLACE                                  the same slice as send and recv
//	MPI.SUM PROD MAX MIN LAND LOR LXOR BAND BOR BXOR  mpi.Sum Prod Max Min LAnd LOr LXor BAnd BOr BXor
//	comm.Barrier(), comm.barrier()                comm.Barrier()
//	comm.Split(color, key), comm.Dup(), .Free()   comm.Split(color, key), comm.Dup(), c.Free()
//	comm.Abort(errorcode)                         comm.Abort(code)
//	MPI.ANY_SOURCE ANY_TAG PROC_NULL UNDEFINED    mpi.AnySource AnyTag ProcNull Undefined
//	MPI.Query_thread(), MPI.Is_thread_main()      mpi.ThreadLevel(), mpi.IsThreadMain()
//	MPI.Get_library_version()                     mpi.LibraryVersion()
//
// mpi4py's lowercase calls pickle Python objects; their Go forms (the Obj
// calls) encode any value encoding/gob can encode: numbers, strings, slices,
// maps, structs with exported fields, and values in interfaces once their
// type is registered with gob.Register. RecvObj, BcastObj and friends zero
// the receiving variable first, so it ends up equal to what was sent. A
// lowercase reduce of numbers becomes a buffer reduce of one value through
// pointers: comm.Reduce(&x, &total, mpi.Sum, 0).
//
// # Buffers
//
// The uppercase calls take their buffers as any: a slice of int, int8,
// int16, int32, int64, uint, uint8 (byte), uint16, uint32, uint64, uintptr,
// float32, float64, complex64, complex128 or bool, of a named type with one
// of those underlying types, or a pointer to one such value (a one-element
// buffer) or to an array of them. The element types map to MPI_INT8_T ..
// MPI_UINT64_T (int, uint and uintptr by their size), MPI_FLOAT, MPI_DOUBLE,
// MPI_C_FLOAT_COMPLEX, MPI_C_DOUBLE_COMPLEX and MPI_C_BOOL (Go's bool is one
// byte, as MPI_C_BOOL is on these platforms; the tests check both). The
// length of the slice is the count: pass a sub-slice (buf[lo:hi]) to send or
// receive part of a larger buffer; MPI never touches memory outside it.
// Empty and nil slices are valid empty messages. Memory is handed to MPI
// without copying; Isend and Irecv pin it (runtime.Pinner) until their
// request completes, so the garbage collector can neither free nor move it.
//
// Collectives check lengths where they can before calling MPI: Scatter's
// send on root must hold Size() times len(recv), Gather's recv on root
// Size() times len(send), Allgather's likewise, and Reduce's and Allreduce's
// recv exactly len(send). On other ranks than root, Scatter's send and
// Gather's and Reduce's recv are ignored and may be nil. Alltoall's send
// and recv must both hold Size()*k elements. The uneven collectives check
// their counts and displacements (see Uneven parts).
//
// # Uneven parts
//
// Scatterv, Gatherv, Allgatherv and Alltoallv move parts of different sizes
// (MPI_Scatterv and friends); Alltoall exchanges equal blocks between every
// pair of ranks. mpi4py passes a buffer with its counts and displacements
// as one list, [buf, counts, displs, MPI.DOUBLE]; here they are separate
// arguments after the buffer they describe, counted in elements, and the
// element type comes from the slice:
//
//	comm.Scatterv([sendbuf, counts, displs, MPI.DOUBLE], recvbuf, root=0)
//	    comm.Scatterv(sendbuf, counts, displs, recvbuf, 0)
//	comm.Scatterv([sendbuf, counts, MPI.DOUBLE], recvbuf, root=0)   # packed parts
//	    comm.Scatterv(sendbuf, counts, nil, recvbuf, 0)
//	comm.Scatterv(None, recvbuf, root=0)           # on the other ranks
//	    comm.Scatterv(nil, nil, nil, recvbuf, 0)
//	comm.Gatherv(sendbuf, [recvbuf, counts, displs, MPI.DOUBLE], root=0)
//	    comm.Gatherv(sendbuf, recvbuf, counts, displs, 0)
//	comm.Gatherv(sendbuf, None, root=0)            # on the other ranks
//	    comm.Gatherv(sendbuf, nil, nil, nil, 0)
//	comm.Allgatherv(sendbuf, [recvbuf, counts, displs, MPI.DOUBLE])
//	    comm.Allgatherv(sendbuf, recvbuf, counts, displs)
//	comm.Alltoall(sendbuf, recvbuf)
//	    comm.Alltoall(sendbuf, recvbuf)
//	comm.Alltoallv([sendbuf, scounts, sdispls, MPI.DOUBLE], [recvbuf, rcounts, rdispls, MPI.DOUBLE])
//	    comm.Alltoallv(sendbuf, scounts, sdispls, recvbuf, rcounts, rdispls)
//
// nil displacements pack the parts one after the other in rank order
// (displs[i] = counts[0]+...+counts[i-1]), as mpi4py does for [buf, counts,
// MPI.DOUBLE] or [buf, (counts, None), MPI.DOUBLE]; numpy arrays of counts
// become []int. The receive buffer's length is what a rank receives (MPI's
// recvcount): Scatterv's recv on rank i must hold exactly counts[i] of
// root, and Gatherv's and Allgatherv's send exactly counts[rank]. Counts
// and displacements matter where MPI reads them: Scatterv's and Gatherv's
// on root only (elsewhere they may be nil), the others' on every rank. The
// workshop's uneven scatter of size*3+1 numbers, split as numpy's
// array_split splits them:
//
//	n, size := comm.Size()*3+1, comm.Size()
//	counts := make([]int, size) // the first n%size parts one longer
//	for i := range counts {
//		counts[i] = n / size
//		if i < n%size {
//			counts[i]++
//		}
//	}
//	var data []float64
//	if comm.Rank() == 0 {
//		data = make([]float64, n)
//	}
//	part := make([]float64, counts[comm.Rank()])
//	comm.Scatterv(data, counts, nil, part, 0)
//
// Before MPI is called, every rank checks what it can see: one count (and
// one displacement, unless nil) per rank; counts and displacements >= 0 and
// within a C int (MPI's counts are ints: nothing is truncated); every part
// within its buffer; no two parts of a buffer MPI writes overlapping (MPI
// leaves that undefined); the element types of send and recv the same, and
// the buffers apart (there is no in-place form); and, for Alltoallv, what a
// rank sends itself equal to what it receives from itself. So no rank
// reads or writes outside its slices whatever it passes. A mismatch
// between ranks (rank i sending more than root's counts[i]) only MPI can
// see: Open MPI reports it, an *Error with MPI_ERR_TRUNCATE on the rank
// whose part did not fit, while MPICH 4.0 drops that part without an
// error; neither writes past the part.
//
//	mpi: Comm.Scatterv: send: has 12 elements, but the parts of counts packed one after the other (displs nil) need at least 13: rank 3's part would be send[10:13]; make len(send) >= the sum of counts
//
// # Errors
//
// Nothing returns an error. Misuse found before MPI is called (an
// unsupported type, a wrong length, a rank or tag out of range, a reduction
// that does not apply to the element type, a call before Init) panics with a
// *UsageError that names the call, the argument and the fix:
//
//	mpi: Comm.Scatter: send: has 10 elements, but Scatter gives len(recv) = 3 to each of the 4 ranks, so it needs 12; make len(send) == comm.Size()*len(recv)
//
// AnySource, ProcNull and AnyTag have values of the package's own, far below
// any rank or tag, and reach MPI as MPI's. In C those are -1 and -2 (swapped
// between Open MPI and MPICH), so the -1 that Go's (rank-1)%size gives on
// rank 0 would silently receive from anyone or send nothing; here it panics:
//
//	mpi: Comm.Send: dest: rank -1 is out of range: World has 4 rank(s), 0..3; use a rank from 0 to comm.Size()-1 (or mpi.ProcNull for a no-op); a negative rank often comes from (rank-1)%size: Go's % keeps the sign of the left operand (-1%size is -1, not size-1 as in Python), so write (rank-1+size)%size
//
// Communicators use MPI_ERRORS_RETURN, so an error MPI reports (a message
// longer than the receive buffer, say) comes back to Go and panics with an
// *Error carrying MPI's own message and the rank:
//
//	mpi: rank 0: Comm.Recv(2 x float64, source=1, tag=5): MPI_ERR_TRUNCATE: message truncated
//
// A rank that panics exits; mpirun (or %mpirun) then ends the job and shows
// the message. Use defer mpi.Finalize() directly, not inside another
// function: a deferred Finalize that sees a panic lets it through instead of
// waiting forever in MPI_Finalize for the ranks that are still running.
//
// Misuse that MPI would turn into memory corruption or a crash panics with a
// *UsageError instead: the same request waited for by two goroutines at once
// (WaitAll of the same request twice just waits for it once), a Split color
// or key beyond C's int, an Abort code beyond 255 (the job would report
// code % 256), and Finalize while an Isend or Irecv was never completed or
// while other goroutines are still inside MPI calls (a receiver blocked in
// Recv: MPI_Finalize crashes it). WaitAll completes every request even when
// one fails; the first error panics after all are done.
//
// # Goroutines and threads
//
// Init asks MPI for MPI_THREAD_MULTIPLE; ThreadLevel says what the library
// granted (Debian's Open MPI 4.1 and MPICH 4.0 grant it). The package locks
// the main goroutine to the main thread in its init function, and Init locks
// the goroutine that calls it to its thread, because MPI ties two things to
// the thread that initialised it: MPI_Finalize must run there (so call Init
// and Finalize from main), and under MPI_THREAD_FUNNELED every call must.
// What else may run where depends on the level:
//
//   - ThreadMultiple: any goroutine may call any function at any time.
//     MPI's own rules remain: collectives on one communicator must be called
//     in the same order on every rank, so two goroutines must not run
//     collectives on the same Comm at once (give each its own with Dup);
//     distinct tags or communicators keep concurrent point-to-point traffic
//     apart; a Request must be completed by one goroutine (a second one
//     panics); and Probe
//     followed by Recv can lose its message to another goroutine receiving
//     from the same source and tag (RecvObj probes and receives atomically
//     with MPI_Mprobe, so it is safe).
//   - ThreadSerialized: any goroutine, but never two at once; serialise
//     them yourself (a sync.Mutex around the calls).
//   - ThreadFunneled and ThreadSingle: only the goroutine that called Init
//     (IsThreadMain reports whether the caller runs on its thread).
//
// Comm values are safe for concurrent use except Free; Status values are
// plain data. The Go scheduler needs two accommodations, both automatic:
// a goroutine that does nothing but MPI calls passes through the scheduler
// every few milliseconds (otherwise Go's sysmon, seeing the goroutine hog
// its P, interrupts the thread 50000 times a second), and Init raises
// GOMAXPROCS to 2 when it is 1 (as it is when the launcher binds each rank
// to one core) unless the GOMAXPROCS environment variable is set, since with
// no idle P sysmon takes the P away from every MPI call longer than 20 us.
//
// # Building and choosing the MPI
//
// The binding finds MPI with pkg-config. Build tags choose which:
//
//	go build                 pkg-config module "mpi": on Debian and Ubuntu an
//	                         alternative pointing at Open MPI's or MPICH's .pc,
//	                         whichever is installed (Open MPI when both are;
//	                         update-alternatives --config mpi-x86_64-linux-gnu)
//	go build -tags ompi      Open MPI (module ompi-c)
//	go build -tags mpich     MPICH, MVAPICH (module mpich)
//	CC=mpicc go build -tags mpicc
//	                         no pkg-config: the MPI compiler wrapper (or
//	                         CGO_CFLAGS and CGO_LDFLAGS) supplies mpi.h and the
//	                         library; for Intel MPI, Cray and other MPIs
//	                         without a .pc file
//
// Launch a program with the mpirun of the MPI it is linked with
// (mpirun.openmpi or mpirun.mpich on Debian; ldd ./prog shows libmpi.so or
// libmpich.so, and Implementation reports it at run time). Init panics with
// an explanation when a launcher of the other implementation started the
// process, which would otherwise run every rank as rank 0 of 1. Open MPI
// refuses to run as root without OMPI_ALLOW_RUN_AS_ROOT=1 and
// OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, and needs --oversubscribe for more ranks
// than cores; MPICH's mpirun oversubscribes by default.
//
// On a cluster, load the MPI and let pkg-config find it:
//
//	module load openmpi            # or: module load mpich
//	pkg-config --modversion ompi-c # or: mpich; if not found:
//	export PKG_CONFIG_PATH=$(dirname $(dirname $(which mpicc)))/lib/pkgconfig:$PKG_CONFIG_PATH
//	go build -tags ompi ./prog     # or: -tags mpich
//	srun -n 64 ./prog              # or: mpirun -n 64 ./prog
//
// # Environment
//
// MPIGO_YIELD=1 makes every blocking call poll MPI and yield the CPU
// between polls (sched_yield), and MPIGO_YIELD=0 never; by default this is
// on with MPICH when the ranks on a node outnumber its CPUs, where MPICH's
// own busy waiting makes each collective take a time slice per rank (24 ms
// for an Allreduce on 5 ranks and 2 cores instead of 0.1 ms). Open MPI
// yields by itself when oversubscribed. GODEBUG=cgocheck=0 (or
// //go:debug cgocheck=0 in package main) saves about 20 ns per call, the
// cost of cgo checking that buffers hold no Go pointers (they never do).
//
// # Known library defects worked around
//
// MPICH 4.0 crashes in MPI_Reduce with MPI_IN_PLACE at a root other than 0
// for messages over 2 KiB (pmodels/mpich#6540): the root reduces from a
// temporary copy. With MPI_THREAD_MULTIPLE, MPICH 4.0 never wakes a thread
// blocked in MPI_Recv or MPI_Wait on a message that another thread of the
// same rank sends to it: such receives (from the caller's own rank or
// AnySource) poll instead. MPICH's MPI_Test reports a wrong source for
// receives from ProcNull: the package fills in the status MPI specifies.
package mpi

package mpi

import (
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// misuseCase is a call that must panic with a *UsageError whose message
// holds every string of want (case-insensitively).
type misuseCase struct {
	name string
	f    func()
	want []string
}

// TestMisuse: every misuse the package checks panics with a *UsageError
// before MPI is called, so each rank can trigger it on its own (roots are
// the rank itself, where root-only checks apply) and carry on.
func TestMisuse(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	me := rank
	f := []float64{1, 2}
	cases := []misuseCase{
		{"unsupported type", func() { comm.Send([]string{"a"}, me, 0) }, []string{"Comm.Send", "buf", "[]string", "SendObj"}},
		{"struct slice", func() { comm.Bcast([]struct{ X int }{{1}}, 0) }, []string{"Comm.Bcast", "BcastObj"}},
		{"nil buffer", func() { comm.Send(nil, me, 0) }, []string{"Comm.Send", "buf", "is nil"}},
		{"array by value", func() { comm.Send([2]int{}, me, 0) }, []string{"array", "a[:]"}},
		{"nil pointer", func() { var p *float64; comm.Recv(p, me, 0) }, []string{"Comm.Recv", "nil *float64"}},
		{"dest too big", func() { comm.Send(f, size, 0) }, []string{"Comm.Send", "dest", "out of range", "comm.Size()-1"}},
		{"dest negative", func() { comm.Isend(f, -5, 0) }, []string{"Comm.Isend", "dest"}},
		{"source too big", func() { comm.Recv(f, size+3, 0) }, []string{"Comm.Recv", "source", "out of range"}},
		{"probe source", func() { comm.Probe(size, 0) }, []string{"Comm.Probe", "source"}},
		{"root", func() { comm.Bcast(f, size) }, []string{"Comm.Bcast", "root", "out of range"}},
		{"reduce root", func() { comm.Reduce(f, f, Sum, -1) }, []string{"Comm.Reduce", "root"}},
		{"negative tag", func() { comm.Send(f, me, -3) }, []string{"Comm.Send", "tag", "MPI_TAG_UB"}},
		{"AnyTag on send", func() { comm.Send(f, me, AnyTag) }, []string{"Comm.Send", "tag"}},
		{"tag above TAG_UB", func() { comm.Irecv(f, me, tagUB+1) }, []string{"Comm.Irecv", "tag", "MPI_TAG_UB"}},
		{"scatter size", func() { comm.Scatter(make([]int, size*3+1), make([]int, 3), me) }, []string{"Comm.Scatter", "send", "comm.Size()*len(recv)"}},
		{"scatter types", func() { comm.Scatter(make([]int32, size), make([]int64, 1), me) }, []string{"Comm.Scatter", "send", "[]int32", "[]int64", "same element type"}},
		{"gather short", func() { comm.Gather(make([]int, 2), make([]int, 2*size-1), me) }, []string{"Comm.Gather", "recv", "comm.Size()*len(send)"}},
		{"gather nil on root", func() { comm.Gather(make([]int, 2), nil, me) }, []string{"Comm.Gather", "recv", "nil"}},
		{"allgather long", func() { comm.Allgather(make([]int, 2), make([]int, 2*size+1)) }, []string{"Comm.Allgather", "recv"}},
		{"reduce length", func() { comm.Reduce(make([]int, 3), make([]int, 2), Sum, me) }, []string{"Comm.Reduce", "recv", "same length"}},
		{"allreduce length", func() { comm.Allreduce(make([]int, 3), make([]int, 4), Sum) }, []string{"Comm.Allreduce", "recv"}},
		{"allreduce types", func() { comm.Allreduce(make([]int, 3), make([]float64, 3), Sum) }, []string{"Comm.Allreduce", "same element type"}},
		{"BAnd on float", func() { comm.Allreduce(f, make([]float64, 2), BAnd) }, []string{"Comm.Allreduce", "op", "BAnd", "[]float64", "Sum"}},
		{"BOr on bool", func() { comm.Allreduce([]bool{true}, []bool{false}, BOr) }, []string{"BOr", "[]bool", "LAnd"}},
		{"LAnd on int", func() { comm.Allreduce([]int{1}, []int{0}, LAnd) }, []string{"LAnd", "[]int", "BAnd"}},
		{"LOr on float", func() { comm.Reduce(f, f, LOr, me) }, []string{"Comm.Reduce", "LOr"}},
		{"Sum on bool", func() { comm.Allreduce([]bool{true}, []bool{false}, Sum) }, []string{"Sum", "[]bool", "LAnd"}},
		{"Max on complex", func() { comm.Allreduce([]complex128{1}, []complex128{0}, Max) }, []string{"Max", "[]complex128", "complex"}},
		{"bad op", func() { comm.Allreduce(f, make([]float64, 2), Op(99)) }, []string{"op", "99"}},
		{"overlap", func() { b := make([]int, 10); comm.Allreduce(b[:6], b[3:9], Sum) }, []string{"overlaps"}},
		{"sendrecv same buffer", func() { comm.Sendrecv(f, me, 0, f, me, 0) }, []string{"Comm.Sendrecv", "same memory"}},
		{"split color", func() { comm.Split(-3, 0) }, []string{"Comm.Split", "color"}},
		{"split color -1", func() { comm.Split(-1, 0) }, []string{"Comm.Split", "color", "mpi.Undefined"}},
		// beyond C's int, MPI would see the low 32 bits: wrong communicators
		{"split color beyond int32", func() { comm.Split(1<<32+rank, 0) }, []string{"Comm.Split", "color", "more than an MPI color can hold", "hash % n"}},
		{"split key beyond int32", func() { comm.Split(0, 1<<40) }, []string{"Comm.Split", "key", "beyond what an MPI key can hold"}},
		{"split key below int32", func() { comm.Split(0, -1<<40) }, []string{"Comm.Split", "key"}},
		{"abort code", func() { comm.Abort(256) }, []string{"Comm.Abort", "code", "1..255", "would report 0"}},
		// refused before anything is pinned: the recovered panic leaves no
		// pinned pointer for the garbage collector to find (checked below)
		{"Isend count", func() { comm.Isend(hugeSlice(), me, 0) }, []string{"Comm.Isend", "buf", "more than an MPI count can hold"}},
		{"Irecv count", func() { comm.Irecv(hugeSlice(), me, 0) }, []string{"Comm.Irecv", "buf", "more than an MPI count can hold"}},
		{"free World", func() { World.Free() }, []string{"Comm.Free", "World"}},
		{"nil comm", func() { var c *Comm; c.Barrier() }, []string{"Comm.Barrier", "nil *Comm"}},
		{"nil request", func() { var r *Request; r.Wait() }, []string{"Request.Wait", "nil"}},
		{"CountOf", func() { Status{}.CountOf("x") }, []string{"Status.CountOf", "string"}},
		{"RecvObj non-pointer", func() { var x int; comm.RecvObj(x, me, 0) }, []string{"Comm.RecvObj", "ptr", "pointer"}},
		{"RecvObj nil", func() { comm.RecvObj(nil, me, 0) }, []string{"Comm.RecvObj", "ptr"}},
		{"SendObj unencodable", func() { comm.SendObj(make(chan int), me, 0) }, []string{"Comm.SendObj", "v", "gob"}},
		{"SendObj nil", func() { comm.SendObj(nil, me, 0) }, []string{"Comm.SendObj", "gob"}},
		{"BcastObj value", func() { comm.BcastObj(3, 0) }, []string{"Comm.BcastObj", "ptr"}},
		{"ScatterObj length", func() { var x int; comm.ScatterObj(make([]int, size+1), &x, me) }, []string{"Comm.ScatterObj", "slice", "comm.Size()"}},
		{"ScatterObj non-slice", func() { var x int; comm.ScatterObj(7, &x, me) }, []string{"Comm.ScatterObj", "slice"}},
		{"GatherObj slicePtr", func() { var s []int; comm.GatherObj(1, s, me) }, []string{"Comm.GatherObj", "slicePtr", "pointer to a slice"}},
		{"AllgatherObj slicePtr", func() { comm.AllgatherObj(1, nil) }, []string{"Comm.AllgatherObj", "slicePtr"}},
	}
	cases = append(cases, vMisuse(comm)...)
	// A computed -1 or -2 (Go's (rank-1)%size on rank 0) is MPI_ANY_SOURCE,
	// MPI_PROC_NULL or MPI_ANY_TAG in C, one way round in Open MPI and the
	// other in MPICH: it must panic in both, with the hint, and never reach
	// MPI (where a receive from it would hang or return nothing).
	ring := "(rank-1+size)%size"
	for _, r := range []int{-1, -2} {
		rk := "rank " + strconv.Itoa(r) + " is out of range" // a rank's message
		tg := "tag: " + strconv.Itoa(r) + " is out of range" // a tag's
		for _, c := range []misuseCase{
			{"Send dest", func() { comm.Send(f, r, 0) }, []string{"Comm.Send", "dest", rk, "mpi.ProcNull", ring}},
			{"Isend dest", func() { comm.Isend(f, r, 0) }, []string{"Comm.Isend", "dest", rk, ring}},
			{"SendObj dest", func() { comm.SendObj(1, r, 0) }, []string{"Comm.SendObj", "dest", rk, ring}},
			{"Sendrecv dest", func() { comm.Sendrecv(f, r, 0, make([]float64, 2), me, 0) }, []string{"Comm.Sendrecv", "dest", rk, ring}},
			{"Recv source", func() { comm.Recv(f, r, 0) }, []string{"Comm.Recv", "source", rk, "mpi.AnySource", ring}},
			{"Irecv source", func() { comm.Irecv(f, r, AnyTag) }, []string{"Comm.Irecv", "source", rk, ring}},
			{"Sendrecv source", func() { comm.Sendrecv(f, me, 0, make([]float64, 2), r, 0) }, []string{"Comm.Sendrecv", "source", rk, ring}},
			{"Probe source", func() { comm.Probe(r, 0) }, []string{"Comm.Probe", "source", rk, ring}},
			{"Iprobe source", func() { comm.Iprobe(r, AnyTag) }, []string{"Comm.Iprobe", "source", rk, ring}},
			{"RecvObj source", func() { var x int; comm.RecvObj(&x, r, 0) }, []string{"Comm.RecvObj", "source", rk, ring}},
			{"Bcast root", func() { comm.Bcast(f, r) }, []string{"Comm.Bcast", "root", rk, ring}},
			{"Recv tag", func() { comm.Recv(f, me, r) }, []string{"Comm.Recv", tg, "MPI_TAG_UB", "never negative", "mpi.AnyTag"}},
			{"Irecv tag", func() { comm.Irecv(f, AnySource, r) }, []string{"Comm.Irecv", tg, "mpi.AnyTag"}},
			{"Sendrecv recvTag", func() { comm.Sendrecv(f, me, 0, make([]float64, 2), me, r) }, []string{"Comm.Sendrecv", "recvTag: " + strconv.Itoa(r), "mpi.AnyTag"}},
			{"Sendrecv sendTag", func() { comm.Sendrecv(f, me, r, make([]float64, 2), me, 0) }, []string{"Comm.Sendrecv", "sendTag: " + strconv.Itoa(r), "never negative"}},
			{"Send tag", func() { comm.Send(f, me, r) }, []string{"Comm.Send", tg, "never negative"}},
			{"Probe tag", func() { comm.Probe(me, r) }, []string{"Comm.Probe", tg, "mpi.AnyTag"}},
			{"Iprobe tag", func() { comm.Iprobe(ProcNull, r) }, []string{"Comm.Iprobe", tg, "mpi.AnyTag"}},
			{"RecvObj tag", func() { var x int; comm.RecvObj(&x, AnySource, r) }, []string{"Comm.RecvObj", tg, "mpi.AnyTag"}},
		} {
			c.name += " " + strconv.Itoa(r)
			cases = append(cases, c)
		}
	}
	// the special values where they do not apply are named in the message
	cases = append(cases, []misuseCase{
		{"dest Size()", func() { comm.Send(f, rank+size-rank, 0) }, []string{"Comm.Send", "dest", "(rank+1)%size"}},
		{"AnySource as dest", func() { comm.Send(f, AnySource, 0) }, []string{"Comm.Send", "dest", "mpi.AnySource", "receive"}},
		{"AnySource as root", func() { comm.Bcast(f, AnySource) }, []string{"Comm.Bcast", "root", "mpi.AnySource"}},
		{"ProcNull as root", func() { comm.Reduce(f, f, Sum, ProcNull) }, []string{"Comm.Reduce", "root", "mpi.ProcNull"}},
		{"AnyTag as source", func() { comm.Recv(f, AnyTag, 0) }, []string{"Comm.Recv", "source", "mpi.AnyTag", "not a rank"}},
		{"Undefined as dest", func() { comm.Isend(f, Undefined, 0) }, []string{"Comm.Isend", "dest", "mpi.Undefined"}},
		{"AnySource as tag", func() { comm.Recv(f, me, AnySource) }, []string{"Comm.Recv", "tag", "mpi.AnySource", "not a tag"}},
		{"ProcNull as tag", func() { comm.Isend(f, me, ProcNull) }, []string{"Comm.Isend", "tag", "mpi.ProcNull", "not a tag"}},
		{"AnyTag on SendObj", func() { comm.SendObj(1, me, AnyTag) }, []string{"Comm.SendObj", "tag", "mpi.AnyTag", "definite tag"}},
	}...)
	if size > 1 { // (0-1)%1 is 0, a valid rank
		cases = append(cases, misuseCase{"computed (0-1)%size", func() { zero := rank - rank; comm.Send(f, (zero-1)%size, 0) }, []string{"Comm.Send", "dest: rank -1 is out of range", ring}})
	}
	for _, c := range cases {
		expectPanic(t, c.name, false, c.f, c.want...)
	}
	collectFinalizers(t) // a leaked runtime.Pinner would kill the process here
	// Finalize from a goroutine other than Init's is refused (and MPI stays up)
	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		Finalize()
	}()
	if e, ok := (<-done).(*UsageError); !ok || !strings.Contains(e.Msg, "thread that initialised") {
		t.Errorf("Finalize from another goroutine: %v", e)
	}
	if Finalized() {
		t.Fatalf("Finalize ran from the wrong goroutine")
	}
	// the panic values are errors
	var err error = usage("Comm.Send", "buf", "x")
	var ue *UsageError
	if !errors.As(err, &ue) || ue.Arg != "buf" {
		t.Errorf("UsageError is not usable with errors.As")
	}
	comm.Barrier()
}

// vMisuse are the misuses of the uneven collectives and Alltoall, each
// triggered by one rank on its own (root is the rank itself).
func vMisuse(comm *Comm) []misuseCase {
	rank, size := comm.Rank(), comm.Size()
	me := rank
	ones := func() []int { // one element for each rank
		c := make([]int, size)
		for i := range c {
			c[i] = 1
		}
		return c
	}
	with := func(c []int, i, v int) []int { c[i] = v; return c }
	tooBig := math.MaxInt32
	tooBig++ // a count MPI's C int cannot hold
	n := size*3 + 1
	split := make([]int, size) // the workshop's uneven split of size*3+1
	for i := range split {
		split[i] = n / size
		if i < n%size {
			split[i]++
		}
	}
	sv, gv, agv, a2a, a2av := "Comm.Scatterv", "Comm.Gatherv", "Comm.Allgatherv", "Comm.Alltoall", "Comm.Alltoallv"
	buf := make([]float64, 4*size+8)
	cases := []misuseCase{
		// Scatterv (root's checks)
		{"Scatterv len(counts)", func() { comm.Scatterv(make([]int, n), split[:size-1], nil, make([]int, split[me]), me) }, []string{sv, "counts", "one count per rank", "comm.Size()"}},
		{"Scatterv counts too long", func() { comm.Scatterv(make([]int, n), append(split[:size:size], 1), nil, make([]int, split[me]), me) }, []string{sv, "counts", "len(counts) == comm.Size()"}},
		{"Scatterv nil counts on root", func() { comm.Scatterv(make([]int, n), nil, nil, make([]int, 1), me) }, []string{sv, "counts", "is nil"}},
		{"Scatterv negative count", func() { comm.Scatterv(make([]int, n), with(ones(), size-1, -2), nil, make([]int, 1), me) }, []string{sv, "counts", "-2", "negative"}},
		{"Scatterv count beyond C int", func() { comm.Scatterv(make([]int, n), with(ones(), 0, tooBig), nil, make([]int, 1), me) }, []string{sv, "counts[0]", "2147483648", "more than an MPI count can hold"}},
		{"Scatterv displacement out of range", func() {
			comm.Scatterv(make([]int, size), ones(), with(make([]int, size), size-1, size), make([]int, 1), me)
		}, []string{sv, "displs", "out of range", "len(send)"}},
		{"Scatterv negative displacement", func() { comm.Scatterv(make([]int, size), ones(), with(make([]int, size), 0, -1), make([]int, 1), me) }, []string{sv, "displs[0] = -1", "negative"}},
		{"Scatterv displacement beyond C int", func() {
			comm.Scatterv(make([]int, size), ones(), with(make([]int, size), 0, tooBig), make([]int, 1), me)
		}, []string{sv, "displs", "more than an MPI displacement can hold"}},
		{"Scatterv len(displs)", func() { comm.Scatterv(make([]int, size), ones(), make([]int, size+2), make([]int, 1), me) }, []string{sv, "displs", "one displacement per rank", "nil"}},
		{"Scatterv send too short", func() { comm.Scatterv(make([]int, n-1), split, nil, make([]int, split[me]), me) }, []string{sv, "send", "need at least " + strconv.Itoa(n)}},
		{"Scatterv recv too short", func() { comm.Scatterv(make([]int, n), split, nil, make([]int, split[me]-1), me) }, []string{sv, "recv", "counts[" + strconv.Itoa(me) + "]", "len(recv) == counts[comm.Rank()]"}},
		{"Scatterv types", func() { comm.Scatterv(make([]int32, n), split, nil, make([]int64, split[me]), me) }, []string{sv, "send", "[]int32", "[]int64", "same element type"}},
		{"Scatterv same memory", func() { b := make([]int, size+1); comm.Scatterv(b, ones(), nil, b[me:me+1], me) }, []string{sv, "recv", "overlaps send"}},
		{"Scatterv unsupported", func() { comm.Scatterv([]string{"a"}, ones(), nil, make([]string, 1), me) }, []string{sv, "recv", "[]string"}},
		{"Scatterv root", func() { comm.Scatterv(nil, nil, nil, make([]int, 1), size) }, []string{sv, "root", "out of range"}},
		// Gatherv (root's checks)
		{"Gatherv len(counts)", func() { comm.Gatherv(make([]int, 1), make([]int, size), append(ones(), 1), nil, me) }, []string{gv, "counts", "one count per rank"}},
		{"Gatherv negative count", func() { comm.Gatherv(make([]int, 1), make([]int, size), with(ones(), 0, -1), nil, me) }, []string{gv, "counts[0] = -1", "negative"}},
		{"Gatherv count beyond C int", func() { comm.Gatherv(make([]int, 1), make([]int, size), with(ones(), size-1, tooBig), nil, me) }, []string{gv, "counts", "more than an MPI count can hold"}},
		{"Gatherv recv too short", func() { comm.Gatherv(make([]int, split[me]), make([]int, n-1), split, nil, me) }, []string{gv, "recv", "has " + strconv.Itoa(n-1) + " elements", "need at least " + strconv.Itoa(n)}},
		{"Gatherv displacement out of range", func() { comm.Gatherv(make([]int, 1), make([]int, size), ones(), with(make([]int, size), me, size), me) }, []string{gv, "displs", "out of range", "len(recv)"}},
		{"Gatherv send != counts[root]", func() { comm.Gatherv(make([]int, 2), make([]int, size), ones(), nil, me) }, []string{gv, "send", "counts[comm.Rank()]"}},
		{"Gatherv nil recv on root", func() { comm.Gatherv(make([]int, 1), nil, ones(), nil, me) }, []string{gv, "recv", "nil"}},
		{"Gatherv types", func() { comm.Gatherv(make([]float32, 1), make([]float64, size), ones(), nil, me) }, []string{gv, "recv", "[]float64", "same element type"}},
		{"Gatherv overlap", func() { comm.Gatherv(buf[1:2], buf[:size+1], ones(), nil, me) }, []string{gv, "overlaps send"}},
		// Allgatherv (every rank's checks)
		{"Allgatherv len(counts)", func() { comm.Allgatherv(make([]int, 1), make([]int, size), ones()[1:], nil) }, []string{agv, "counts", "one count per rank"}},
		{"Allgatherv negative count", func() { comm.Allgatherv(make([]int, 1), make([]int, size), with(ones(), size-1, -1), nil) }, []string{agv, "counts", "negative"}},
		{"Allgatherv count beyond C int", func() { comm.Allgatherv(make([]int, 1), make([]int, size), with(ones(), 0, tooBig), nil) }, []string{agv, "counts[0]", "more than an MPI count can hold"}},
		{"Allgatherv recv too short", func() { comm.Allgatherv(make([]int, split[me]), make([]int, n-1), split, nil) }, []string{agv, "recv", "need at least"}},
		{"Allgatherv displacement out of range", func() { comm.Allgatherv(make([]int, 1), make([]int, size), ones(), with(make([]int, size), 0, size+5)) }, []string{agv, "displs[0]", "out of range"}},
		{"Allgatherv send != counts[rank]", func() { comm.Allgatherv(make([]int, 3), make([]int, size), ones(), nil) }, []string{agv, "send", "counts[" + strconv.Itoa(me) + "]", "counts[comm.Rank()]"}},
		{"Allgatherv types", func() { comm.Allgatherv(make([]int, 1), make([]uint, size), ones(), nil) }, []string{agv, "recv", "[]uint", "same element type"}},
	}
	if size > 1 { // two parts to overlap; size*3+1 not a multiple of size
		cases = append(cases,
			misuseCase{"Gatherv parts overlap", func() {
				d := make([]int, size)
				for i := range d {
					d[i] = i
				}
				d[size-1] = 0 // the last part lands on the first
				comm.Gatherv(make([]int, 1), make([]int, size), ones(), d, me)
			}, []string{gv, "displs", "rank 0's part recv[0:1] overlaps rank " + strconv.Itoa(size-1) + "'s part recv[0:1]"}},
			misuseCase{"Allgatherv parts overlap", func() {
				comm.Allgatherv(make([]int, 1), make([]int, size), ones(), make([]int, size)) // all at 0
			}, []string{agv, "displs", "overlaps"}},
			misuseCase{"Alltoall not a multiple", func() { comm.Alltoall(make([]int, size*3+1), make([]int, size*3+1)) }, []string{a2a, "send", "not a multiple", "comm.Size()*k"}})
	}
	cases = append(cases, []misuseCase{
		// Alltoall
		{"Alltoall recv too short", func() { comm.Alltoall(make([]int, size*2), make([]int, size*2-1)) }, []string{a2a, "recv", "len(recv) == len(send)"}},
		{"Alltoall types", func() { comm.Alltoall(make([]int8, size), make([]uint8, size)) }, []string{a2a, "recv", "[]uint8", "[]int8"}},
		{"Alltoall same memory", func() { b := make([]int, size); comm.Alltoall(b, b) }, []string{a2a, "same memory"}},
		// Alltoallv
		{"Alltoallv len(sendCounts)", func() { comm.Alltoallv(make([]int, size), ones()[1:], nil, make([]int, size), ones(), nil) }, []string{a2av, "sendCounts", "len(sendCounts) == comm.Size()"}},
		{"Alltoallv len(recvDispls)", func() {
			comm.Alltoallv(make([]int, size), ones(), nil, make([]int, size), ones(), make([]int, size+1))
		}, []string{a2av, "recvDispls", "one displacement per rank"}},
		{"Alltoallv negative count", func() { comm.Alltoallv(make([]int, size), ones(), nil, make([]int, size), with(ones(), 0, -4), nil) }, []string{a2av, "recvCounts[0] = -4", "negative"}},
		{"Alltoallv count beyond C int", func() {
			comm.Alltoallv(make([]int, size), with(ones(), 0, tooBig), nil, make([]int, size), ones(), nil)
		}, []string{a2av, "sendCounts[0]", "more than an MPI count can hold"}},
		{"Alltoallv displacement out of range", func() {
			comm.Alltoallv(make([]int, size), ones(), with(make([]int, size), size-1, size), make([]int, size), ones(), nil)
		}, []string{a2av, "sendDispls", "out of range", "len(send)"}},
		{"Alltoallv displacement beyond C int", func() {
			comm.Alltoallv(make([]int, size), ones(), nil, make([]int, size), ones(), with(make([]int, size), 0, tooBig))
		}, []string{a2av, "recvDispls", "more than an MPI displacement can hold"}},
		{"Alltoallv recv too short", func() { comm.Alltoallv(make([]int, size), ones(), nil, make([]int, size-1), ones(), nil) }, []string{a2av, "recv", "need at least " + strconv.Itoa(size)}},
		{"Alltoallv self counts", func() {
			comm.Alltoallv(make([]int, size+1), with(ones(), me, 2), nil, make([]int, size), ones(), nil)
		}, []string{a2av, "recvCounts[" + strconv.Itoa(me) + "] = 1", "sendCounts[" + strconv.Itoa(me) + "] = 2", "receives from itself"}},
		{"Alltoallv types", func() { comm.Alltoallv(make([]complex64, size), ones(), nil, make([]complex128, size), ones(), nil) }, []string{a2av, "recv", "same element type"}},
	}...)
	return cases
}

// TestMPIError: an error MPI itself reports (a message longer than the
// receive buffer) becomes an *Error naming the call, the rank and MPI's
// message; MPI stays usable.
func TestMPIError(t *testing.T) {
	comm := needChild(t)
	rank := comm.Rank()
	req := comm.Isend([]int64{1, 2, 3, 4}, rank, 80)
	expectPanic(t, "truncated Recv", true, func() { comm.Recv(make([]int64, 2), rank, 80) }, "Comm.Recv", "truncat")
	func() {
		defer func() {
			e, ok := errorsAs[*Error](recover())
			if !ok || e.Rank != World.Rank() || e.Code == 0 || e.Msg == "" {
				t.Errorf("MPI error: %#v", e)
			}
			if !strings.HasPrefix(e.Error(), "mpi: rank ") {
				t.Errorf("MPI error message %q", e.Error())
			}
		}()
		req2 := comm.Isend(make([]float32, 10), rank, 81)
		defer req2.Wait()
		comm.Recv(make([]float32, 9), rank, 81)
	}()
	req.Wait()
	comm.Barrier()
}

// hugeSlice is a slice longer than an MPI count over a tiny allocation:
// only its length is ever read (the calls refuse it first).
func hugeSlice() []byte {
	small := make([]byte, 8)
	return unsafe.Slice(&small[0], math.MaxInt32+1)
}

// collectFinalizers runs the garbage collector and waits until the
// finalizers it queued have run: a runtime.Pinner collected while it still
// pins memory throws then.
func collectFinalizers(t *testing.T) {
	t.Helper()
	ran := make(chan struct{})
	sentinel := new([16]byte)
	runtime.SetFinalizer(sentinel, func(*[16]byte) { close(ran) })
	sentinel = nil
	for i := 0; i < 100; i++ {
		runtime.GC()
		select {
		case <-ran:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the garbage collector never ran the finalizers")
}

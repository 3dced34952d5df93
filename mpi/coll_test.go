package mpi

import (
	"reflect"
	"sync"
	"testing"
)

// roots returns the roots each collective is tested with: the first and the
// last rank.
func roots(size int) []int {
	if size == 1 {
		return []int{0}
	}
	return []int{0, size - 1}
}

func TestBcast(t *testing.T) {
	comm := needChild(t)
	rank := comm.Rank()
	for _, root := range roots(comm.Size()) {
		for _, tc := range typeCases {
			for _, n := range []int{0, 1, 13, 50000} {
				want := tc.values(n, root+1)
				g := newGuarded(want, n)
				if rank == root {
					copy(asBytes(g.sub), asBytes(want))
				}
				comm.Bcast(g.sub, root)
				g.check(t, want, "Bcast %s x %d from %d", tc.name, n, root)
			}
		}
	}
	// a pointer to one value
	x := 0
	if rank == 0 {
		x = 1234
	}
	comm.Bcast(&x, 0)
	if x != 1234 {
		t.Errorf("Bcast(&x): %d", x)
	}
}

// chunk returns the part of a scattered slice that goes to rank r.
func chunk(s any, r, per int) any {
	return reflect.ValueOf(s).Slice(r*per, (r+1)*per).Interface()
}

func TestScatter(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	for _, root := range roots(size) {
		for _, tc := range typeCases {
			for _, per := range []int{0, 1, 3, 5000} {
				all := tc.values(per*size, root)
				var send any // nil on the other ranks
				if rank == root {
					send = all
				}
				g := newGuarded(all, per)
				comm.Scatter(send, g.sub, root)
				g.check(t, chunk(all, rank, per), "Scatter %s, %d per rank, root %d", tc.name, per, root)
			}
		}
	}
}

func TestGather(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	for _, root := range roots(size) {
		for _, tc := range typeCases {
			for _, per := range []int{0, 1, 3, 5000} {
				mine := tc.values(per, rank)
				var g *guarded
				var recv any // nil on the other ranks
				if rank == root {
					g = newGuarded(mine, per*size)
					recv = g.sub
				}
				comm.Gather(mine, recv, root)
				if rank == root {
					want := reflect.MakeSlice(reflect.TypeOf(mine), 0, per*size)
					for r := 0; r < size; r++ {
						want = reflect.AppendSlice(want, reflect.ValueOf(tc.values(per, r)))
					}
					g.check(t, want.Interface(), "Gather %s, %d per rank, root %d", tc.name, per, root)
				}
				// Allgather: everyone gets everything
				ga := newGuarded(mine, per*size)
				comm.Allgather(mine, ga.sub)
				want := reflect.MakeSlice(reflect.TypeOf(mine), 0, per*size)
				for r := 0; r < size; r++ {
					want = reflect.AppendSlice(want, reflect.ValueOf(tc.values(per, r)))
				}
				ga.check(t, want.Interface(), "Allgather %s, %d per rank", tc.name, per)
			}
		}
	}
}

// ---- reductions ----

type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

type float interface{ ~float32 | ~float64 }

type ordered interface{ integer | float }

// reference computes the element-wise reduction of contrib(r) over ranks.
func reference[T any](size, n int, contrib func(r, i int) T, op func(a, b T) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = contrib(0, i)
		for r := 1; r < size; r++ {
			out[i] = op(out[i], contrib(r, i))
		}
	}
	return out
}

func values[T any](r, n int, contrib func(r, i int) T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = contrib(r, i)
	}
	return s
}

// checkReduce runs Allreduce, Reduce to root 0 (nil recv elsewhere), and
// both in place (Reduce to the last rank), comparing with the reference.
// big adds a message large enough for the libraries' long-message algorithms.
func checkReduce[T any](t *testing.T, comm *Comm, name string, op Op, big bool, contrib func(r, i int) T, ref func(a, b T) T) {
	t.Helper()
	rank, size := comm.Rank(), comm.Size()
	sizes := []int{5}
	if big {
		sizes = append(sizes, 20000)
	}
	for _, n := range sizes {
		want := reference(size, n, contrib, ref)
		mine := values(rank, n, contrib)

		g := newGuarded(mine, n)
		comm.Allreduce(mine, g.sub, op)
		g.checkValues(t, want, "Allreduce %s %v x %d", name, op, n)

		inplace := values(rank, n, contrib)
		comm.Allreduce(inplace, inplace, op)
		if !equalValues(inplace, want) {
			t.Errorf("Allreduce in place %s %v x %d: got %v", name, op, n, short(inplace))
		}

		var recv any
		if rank == 0 {
			g = newGuarded(mine, n)
			recv = g.sub
		}
		comm.Reduce(mine, recv, op, 0)
		if rank == 0 {
			g.checkValues(t, want, "Reduce %s %v x %d to 0", name, op, n)
		}

		root := size - 1
		buf := values(rank, n, contrib)
		if rank == root {
			comm.Reduce(buf, buf, op, root)
			if !equalValues(buf, want) {
				t.Errorf("Reduce in place to %d %s %v x %d: got %v", root, name, op, n, short(buf))
			}
		} else {
			comm.Reduce(buf, nil, op, root)
		}
	}
}

func reduceOrdered[T ordered](t *testing.T, comm *Comm, name string) {
	t.Helper()
	checkReduce(t, comm, name, Sum, true, func(r, i int) T { return T((r*3 + i) % 7) }, func(a, b T) T { return a + b })
	checkReduce(t, comm, name, Prod, false, func(r, i int) T { return T(1 + (r+i)%2) }, func(a, b T) T { return a * b })
	checkReduce(t, comm, name, Max, false, func(r, i int) T { return T((r*5 + i*3) % 11) }, func(a, b T) T { return max(a, b) })
	checkReduce(t, comm, name, Min, false, func(r, i int) T { return T(3 + (r*5+i*3)%11) }, func(a, b T) T { return min(a, b) })
}

func reduceBitwise[T integer](t *testing.T, comm *Comm, name string) {
	t.Helper()
	bits := func(r, i int) T { return T(1<<((r+i)%7) | (i%3)<<1 | 1) }
	checkReduce(t, comm, name, BAnd, false, bits, func(a, b T) T { return a & b })
	checkReduce(t, comm, name, BOr, false, bits, func(a, b T) T { return a | b })
	checkReduce(t, comm, name, BXor, true, bits, func(a, b T) T { return a ^ b })
	// full width: the top bit survives
	top := func(r, i int) T { return ^T(0) - T(r%2) }
	checkReduce(t, comm, name+" top bits", BAnd, false, top, func(a, b T) T { return a & b })
}

func TestReduce(t *testing.T) {
	comm := needChild(t)
	reduceOrdered[int](t, comm, "int")
	reduceOrdered[int8](t, comm, "int8")
	reduceOrdered[int16](t, comm, "int16")
	reduceOrdered[int32](t, comm, "int32")
	reduceOrdered[int64](t, comm, "int64")
	reduceOrdered[uint](t, comm, "uint")
	reduceOrdered[uint8](t, comm, "uint8")
	reduceOrdered[uint16](t, comm, "uint16")
	reduceOrdered[uint32](t, comm, "uint32")
	reduceOrdered[uint64](t, comm, "uint64")
	reduceOrdered[uintptr](t, comm, "uintptr")
	reduceOrdered[float32](t, comm, "float32")
	reduceOrdered[float64](t, comm, "float64")
	reduceOrdered[myFloat](t, comm, "myFloat")
	reduceBitwise[int](t, comm, "int")
	reduceBitwise[int8](t, comm, "int8")
	reduceBitwise[int16](t, comm, "int16")
	reduceBitwise[int32](t, comm, "int32")
	reduceBitwise[int64](t, comm, "int64")
	reduceBitwise[uint](t, comm, "uint")
	reduceBitwise[uint8](t, comm, "uint8")
	reduceBitwise[uint16](t, comm, "uint16")
	reduceBitwise[uint32](t, comm, "uint32")
	reduceBitwise[uint64](t, comm, "uint64")
	reduceBitwise[uintptr](t, comm, "uintptr")

	checkReduce(t, comm, "complex64", Sum, true, func(r, i int) complex64 { return complex(float32(r), float32(i)) }, func(a, b complex64) complex64 { return a + b })
	checkReduce(t, comm, "complex64", Prod, false, func(r, i int) complex64 {
		if (r+i)%2 == 0 {
			return 1i
		}
		return 1
	}, func(a, b complex64) complex64 { return a * b })
	checkReduce(t, comm, "complex128", Sum, true, func(r, i int) complex128 { return complex(float64(r)*0.5, -float64(i)) }, func(a, b complex128) complex128 { return a + b })
	checkReduce(t, comm, "complex128", Prod, false, func(r, i int) complex128 { return complex(float64(1+(r+i)%2), 0) }, func(a, b complex128) complex128 { return a * b })

	lv := func(r, i int) bool { return (r+i)%3 != 0 }
	checkReduce(t, comm, "bool", LAnd, true, lv, func(a, b bool) bool { return a && b })
	checkReduce(t, comm, "bool", LOr, false, func(r, i int) bool { return (r+i)%4 == 1 }, func(a, b bool) bool { return a || b })
	checkReduce(t, comm, "bool", LXor, false, lv, func(a, b bool) bool { return a != b })
	comm.Barrier()
}

// ---- communicators ----

func TestSplitDup(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	// halves, ordered backwards by key
	color := rank % 2
	sub := comm.Split(color, -rank)
	members := 0
	for r := 0; r < size; r++ {
		if r%2 == color {
			members++
		}
	}
	if sub.Size() != members {
		t.Errorf("Split: size %d, want %d", sub.Size(), members)
	}
	higher := 0 // ranks of my color above me come first (key -rank)
	for r := rank + 1; r < size; r++ {
		if r%2 == color {
			higher++
		}
	}
	if sub.Rank() != higher {
		t.Errorf("Split: rank %d in the new communicator, want %d", sub.Rank(), higher)
	}
	sum := []int{0}
	sub.Allreduce([]int{rank}, sum, Sum)
	want := 0
	for r := color; r < size; r += 2 {
		want += r
	}
	if sum[0] != want {
		t.Errorf("Allreduce on the split communicator: %d, want %d", sum[0], want)
	}
	sub.Free()
	expectPanic(t, "use after Free", false, func() { sub.Barrier() }, "freed")

	// Undefined leaves a rank out
	c := Undefined
	if rank == 0 {
		c = 0
	}
	only0 := comm.Split(c, 0)
	if (rank == 0) != (only0 != nil) {
		t.Errorf("Split(Undefined): got %v on rank %d", only0, rank)
	}
	if only0 != nil {
		if only0.Size() != 1 {
			t.Errorf("Split with one member: size %d", only0.Size())
		}
		only0.Bcast([]int{1}, 0)
	}
	only0.Free() // nil-safe

	// Dup'd communicators carry concurrent collectives from goroutines
	const n = 3
	dups := make([]*Comm, n)
	for i := range dups {
		dups[i] = comm.Dup()
	}
	var wg sync.WaitGroup
	results := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out := []int{0}
			for k := 0; k < 20; k++ {
				dups[i].Allreduce([]int{rank * (i + 1)}, out, Sum)
				dups[i].Bcast(out, k%size)
			}
			results[i] = out[0]
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r != (i+1)*size*(size-1)/2 {
			t.Errorf("concurrent Allreduce on Dup %d: %d", i, r)
		}
		dups[i].Free()
	}
	comm.Barrier()
}

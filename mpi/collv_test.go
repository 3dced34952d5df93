package mpi

import (
	"reflect"
	"testing"
)

// The uneven collectives: every element type, roots first and last,
// layouts packed and with explicit displacements (gaps, reversed order,
// empty parts), the workshop's size*3+1 split, and parts large enough for
// the libraries' long-message algorithms. Buffers MPI writes are guarded:
// the gaps between parts and the elements around the buffer must keep
// their guard bytes.

// vlay is a layout of a v-collective's buffer: counts and displacements
// (nil: packed).
type vlay struct {
	name   string
	counts []int
	displs []int
}

// at returns rank i's displacement (packed if displs is nil).
func (l vlay) at(i int) int {
	if l.displs != nil {
		return l.displs[i]
	}
	d := 0
	for _, k := range l.counts[:i] {
		d += k
	}
	return d
}

// span is the length of a buffer that holds every part.
func (l vlay) span() int {
	n := 0
	for i, k := range l.counts {
		n = max(n, l.at(i)+k)
	}
	return n
}

// splitCounts splits n elements into size parts whose lengths differ by at
// most one, the first n%size parts longer (numpy's array_split).
func splitCounts(n, size int) []int {
	counts := make([]int, size)
	for i := range counts {
		counts[i] = n / size
		if i < n%size {
			counts[i]++
		}
	}
	return counts
}

// layouts are the layouts with disjoint parts, good for every buffer.
func layouts(size int) []vlay {
	gapCounts := make([]int, size)
	gapDispls := make([]int, size)
	pos := 1 // parts in reverse rank order, one element apart
	for i := size - 1; i >= 0; i-- {
		gapCounts[i] = i * 2 % 5 // rank 0's part is empty
		gapDispls[i] = pos
		pos += gapCounts[i] + 1
	}
	big := make([]int, size)
	for i := range big {
		big[i] = 4000 + 111*i
	}
	return []vlay{
		{"size*3+1 split", splitCounts(size*3+1, size), nil},
		{"reversed with gaps", gapCounts, gapDispls},
		{"all empty", make([]int, size), nil},
		{"large", big, nil},
	}
}

// part returns s[d:d+k].
func part(s any, d, k int) any {
	return reflect.ValueOf(s).Slice(d, d+k).Interface()
}

// assemble returns a slice like like of length l.span() holding part(i)
// at rank i's displacement and guard bytes in the gaps.
func assemble(like any, l vlay, part func(i int) any) any {
	out := reflect.MakeSlice(reflect.TypeOf(like), l.span(), l.span())
	b := asBytes(out.Interface())
	for i := range b {
		b[i] = guardByte
	}
	for i := range l.counts {
		reflect.Copy(out.Slice(l.at(i), l.at(i)+l.counts[i]), reflect.ValueOf(part(i)))
	}
	return out.Interface()
}

func TestScatterv(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	lays := layouts(size)
	shared := make([]int, size) // every part starts at 0: reading overlaps is fine
	for i := range shared {
		shared[i] = 2 + i%2
	}
	lays = append(lays, vlay{"overlapping reads", shared, make([]int, size)})
	for _, root := range roots(size) {
		for _, tc := range typeCases {
			for _, l := range lays {
				all := tc.values(l.span()+2, root+7) // longer than needed
				var send any
				var counts, displs []int // nil on the other ranks
				if rank == root {
					send, counts, displs = all, l.counts, l.displs
				}
				k := l.counts[rank]
				g := newGuarded(all, k)
				comm.Scatterv(send, counts, displs, g.sub, root)
				g.check(t, part(all, l.at(rank), k), "Scatterv %s, %s, root %d", tc.name, l.name, root)
			}
		}
	}
	// pointers: to an array on root, to one value elsewhere
	if size <= 4 {
		counts := make([]int, size)
		for i := range counts {
			counts[i] = 1
		}
		var arr [4]int32
		for i := range arr {
			arr[i] = int32(10 * i)
		}
		var x int32
		comm.Scatterv(&arr, counts, nil, &x, 0)
		if x != int32(10*rank) {
			t.Errorf("Scatterv from *[4]int32 into *int32: rank %d got %d", rank, x)
		}
	}
}

func TestGatherv(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	for _, root := range roots(size) {
		for _, tc := range typeCases {
			for _, l := range layouts(size) {
				mine := tc.values(l.counts[rank], rank)
				var g *guarded
				var recv any
				var counts, displs []int // nil on the other ranks
				if rank == root {
					g = newGuarded(mine, l.span())
					recv, counts, displs = g.sub, l.counts, l.displs
				}
				comm.Gatherv(mine, recv, counts, displs, root)
				if rank == root {
					want := assemble(mine, l, func(i int) any { return tc.values(l.counts[i], i) })
					g.check(t, want, "Gatherv %s, %s, root %d", tc.name, l.name, root)
				}
			}
		}
	}
}

func TestAllgatherv(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	for _, tc := range typeCases {
		for _, l := range layouts(size) {
			mine := tc.values(l.counts[rank], rank)
			g := newGuarded(mine, l.span())
			comm.Allgatherv(mine, g.sub, l.counts, l.displs)
			want := assemble(mine, l, func(i int) any { return tc.values(l.counts[i], i) })
			g.check(t, want, "Allgatherv %s, %s", tc.name, l.name)
		}
	}
}

func TestAlltoall(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	for _, tc := range typeCases {
		for _, per := range []int{0, 1, 3, 3000} {
			mine := tc.values(per*size, rank)
			g := newGuarded(mine, per*size)
			comm.Alltoall(mine, g.sub)
			// block j comes from rank j: its block for this rank
			want := reflect.MakeSlice(reflect.TypeOf(mine), 0, per*size)
			for j := 0; j < size; j++ {
				want = reflect.AppendSlice(want, reflect.ValueOf(chunk(tc.values(per*size, j), rank, per)))
			}
			g.check(t, want.Interface(), "Alltoall %s, %d per rank", tc.name, per)
		}
	}
}

// alltoallvCase is what rank r sends to rank i: sent(r, i) elements.
type alltoallvCase struct {
	name     string
	sent     func(r, i int) int
	explicit bool // displacements reversed with gaps instead of packed
}

// a2aLayout is the layout of counts[i] = f(i) with packed or reversed and
// gapped displacements.
func a2aLayout(size int, f func(i int) int, explicit bool) vlay {
	l := vlay{counts: make([]int, size)}
	for i := range l.counts {
		l.counts[i] = f(i)
	}
	if explicit {
		l.displs = make([]int, size)
		pos := 2
		for i := size - 1; i >= 0; i-- {
			l.displs[i] = pos
			pos += l.counts[i] + 1
		}
	}
	return l
}

func TestAlltoallv(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	uneven := func(r, i int) int { return (r+2*i)%3 + r*i%2 }
	cases := []alltoallvCase{
		{"uneven packed", uneven, false},
		{"uneven with gaps", uneven, true},
		{"empty", func(r, i int) int { return 0 }, false},
		{"large", func(r, i int) int { return 2000 + 37*r + 11*i }, true},
	}
	for _, tc := range typeCases {
		for _, c := range cases {
			// rank r's send layout and the values it sends
			sendLay := func(r int) vlay { return a2aLayout(size, func(i int) int { return c.sent(r, i) }, c.explicit) }
			sendOf := func(r int) any { return tc.values(sendLay(r).span(), r) }
			sl := sendLay(rank)
			rl := a2aLayout(size, func(j int) int { return c.sent(j, rank) }, c.explicit)
			mine := sendOf(rank)
			g := newGuarded(mine, rl.span())
			comm.Alltoallv(mine, sl.counts, sl.displs, g.sub, rl.counts, rl.displs)
			want := assemble(mine, rl, func(j int) any {
				jl := sendLay(j)
				return part(sendOf(j), jl.at(rank), jl.counts[rank])
			})
			g.check(t, want, "Alltoallv %s, %s", tc.name, c.name)
		}
	}
}

// TestVNoAllocs: with up to vScratch ranks the uneven collectives convert
// their counts and displacements on the stack, and pass their buffers to
// C without moving them to the heap: they allocate nothing.
func TestVNoAllocs(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	if size > vScratch {
		t.Skipf("%d ranks: more than vScratch = %d", size, vScratch)
	}
	l := layouts(size)[0] // the size*3+1 split, packed
	displs := make([]int, size)
	for i := range displs {
		displs[i] = l.at(i)
	}
	all, mine := make([]float64, l.span()), make([]float64, l.counts[rank])
	blocks, blocks2 := make([]int32, 2*size), make([]int32, 2*size)
	recvCounts := make([]int, size) // rank i sends counts[rank] to this rank
	for i := range recvCounts {
		recvCounts[i] = l.counts[rank]
	}
	recv := make([]float64, size*l.counts[rank])
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Scatterv", func() { comm.Scatterv(all, l.counts, nil, mine, 0) }},
		{"Gatherv", func() { comm.Gatherv(mine, all, l.counts, displs, 0) }},
		{"Allgatherv", func() { comm.Allgatherv(mine, all, l.counts, displs) }},
		{"Alltoall", func() { comm.Alltoall(blocks, blocks2) }},
		{"Alltoallv", func() { comm.Alltoallv(all, l.counts, displs, recv, recvCounts, nil) }},
	} {
		if n := testing.AllocsPerRun(50, c.f); n != 0 {
			t.Errorf("%s: %g allocations per call, want 0", c.name, n)
		}
	}
	comm.Barrier()
}

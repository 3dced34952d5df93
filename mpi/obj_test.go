package mpi

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

type particle struct {
	ID   int
	Name string
	Pos  [3]float64
	Tags map[string]bool
	Next *particle
}

func mkParticle(r int) particle {
	return particle{ID: r, Name: fmt.Sprint("p", r), Pos: [3]float64{float64(r), 1.5, -2},
		Tags: map[string]bool{"rank" + fmt.Sprint(r): true}, Next: &particle{ID: -r - 1}}
}

func TestSendRecvObj(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	// several kinds of values, including a big one (rendezvous protocol)
	big := make([]float64, 200000)
	for i := range big {
		big[i] = float64(i)
	}
	sends := []any{
		mkParticle(rank),
		map[string][]int{"a": {rank, 2}, "b": nil},
		"hello from " + fmt.Sprint(rank),
		big,
		42,
	}
	reqs := make(chan struct{})
	go func() {
		for i, v := range sends {
			comm.SendObj(v, right, 60+i)
		}
		close(reqs)
	}()
	var p particle
	p.Name = "stale" // RecvObj zeroes the variable first
	st := comm.RecvObj(&p, left, 60)
	if !reflect.DeepEqual(p, mkParticle(left)) || st.Source != left || st.Tag != 60 || st.Count <= 0 {
		t.Errorf("RecvObj struct: %+v, status %+v", p, st)
	}
	var m map[string][]int
	comm.RecvObj(&m, left, 61)
	if len(m) != 1 && len(m) != 2 || m["a"][0] != left {
		t.Errorf("RecvObj map: %v", m)
	}
	var s string
	comm.RecvObj(&s, AnySource, 62)
	if s != "hello from "+fmt.Sprint(left) {
		t.Errorf("RecvObj string: %q", s)
	}
	var b []float64
	comm.RecvObj(&b, left, AnyTag)
	if !reflect.DeepEqual(b, big) {
		t.Errorf("RecvObj big slice: %d elements", len(b))
	}
	var n int
	comm.RecvObj(&n, left, 64)
	if n != 42 {
		t.Errorf("RecvObj int: %d", n)
	}
	<-reqs
	// ProcNull: nothing arrives, the variable is left alone
	n = 5
	if st := comm.RecvObj(&n, ProcNull, 0); n != 5 || st.Source != ProcNull {
		t.Errorf("RecvObj from ProcNull: %d %+v", n, st)
	}
	comm.SendObj("nothing", ProcNull, 0)
	comm.Barrier()
}

// TestRecvObjConcurrent: two goroutines receive from the same source and
// tag at once; matched probes keep each message whole. Message sizes vary
// so that a receiver that probed one message and received another would
// truncate or misdecode.
func TestRecvObjConcurrent(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	right, left := (rank+1)%size, (rank+size-1)%size
	const msgs = 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []string
	var bad []string
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < msgs/2; i++ {
				var s string
				st := comm.RecvObj(&s, left, 70)
				mu.Lock()
				if !strings.HasPrefix(s, fmt.Sprintf("from %d:", left)) || st.Source != left {
					bad = append(bad, s[:min(len(s), 20)])
				}
				got = append(got, s)
				mu.Unlock()
			}
		}()
	}
	var want []string
	for i := 0; i < msgs; i++ {
		pad := strings.Repeat("x", (i%4)*(i%4)*30000) // 0 B .. 270 kB
		s := fmt.Sprintf("from %d: message %d %s", rank, i, pad)
		want = append(want, fmt.Sprintf("from %d: message %d %s", left, i, pad))
		comm.SendObj(s, right, 70)
	}
	wg.Wait()
	sort.Strings(got)
	sort.Strings(want)
	if len(bad) > 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("concurrent RecvObj: %d bad messages, %d received of %d", len(bad), len(got), msgs)
	}
	comm.Barrier()
}

func TestCollectiveObj(t *testing.T) {
	comm := needChild(t)
	rank, size := comm.Rank(), comm.Size()
	for _, root := range roots(size) {
		// BcastObj
		var cfg map[string]any
		if rank == root {
			cfg = map[string]any{"n": 10, "name": "run", "xs": []float64{1, 2}}
		} else {
			cfg = map[string]any{"stale": true}
		}
		comm.BcastObj(&cfg, root)
		if len(cfg) != 3 || cfg["n"] != 10 || cfg["name"] != "run" {
			t.Errorf("BcastObj from %d: %v", root, cfg)
		}

		// ScatterObj: one particle per rank; nil elsewhere
		var all []particle
		if rank == root {
			for r := 0; r < size; r++ {
				all = append(all, mkParticle(r*10))
			}
		}
		var mine particle
		comm.ScatterObj(all, &mine, root)
		if !reflect.DeepEqual(mine, mkParticle(rank*10)) {
			t.Errorf("ScatterObj from %d: %+v", root, mine)
		}

		// GatherObj: nil slice pointer on the other ranks
		var names []string
		var ptr any
		if rank == root {
			ptr = &names
		}
		comm.GatherObj(fmt.Sprintf("rank %d", rank), ptr, root)
		if rank == root {
			for r := 0; r < size; r++ {
				if len(names) != size || names[r] != fmt.Sprintf("rank %d", r) {
					t.Errorf("GatherObj to %d: %q", root, names)
					break
				}
			}
		}
	}
	// AllgatherObj with values of different sizes
	var all [][]int
	comm.AllgatherObj(make([]int, rank*1000), &all)
	for r := 0; r < size; r++ {
		if len(all) != size || len(all[r]) != r*1000 {
			t.Errorf("AllgatherObj: %d entries", len(all))
			break
		}
	}
	// interface values need gob.Register, as with any gob stream
	var v any
	if rank == 0 {
		v = 3.5
	}
	comm.BcastObj(&v, 0)
	if v != 3.5 {
		t.Errorf("BcastObj of an interface holding float64: %v", v)
	}
	comm.Barrier()
}

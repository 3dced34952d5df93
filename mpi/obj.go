package mpi

// #include "mpigo.h"
import "C"

import (
	"bytes"
	"encoding/gob"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"unsafe"
)

// The object calls are mpi4py's lowercase send/recv/bcast/scatter/gather:
// any Go value that encoding/gob can encode (numbers, strings, slices, maps,
// structs with exported fields; interface values after gob.Register) is
// encoded to []byte and sent as MPI_BYTE. Every message is self-contained.
// The receiving variable is zeroed before decoding, so it ends up equal to
// what was sent, as with mpi4py.

func encode(call, arg string, v any) []byte {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		panic(&UsageError{Call: call, Arg: arg,
			Msg: "cannot encode a " + typeName(v) + " with encoding/gob (it needs exported struct fields, no channels or funcs, and gob.Register for values in interfaces)",
			Err: err})
	}
	return b.Bytes()
}

// decodeInto decodes data into the value ptr points to, after zeroing it.
func decodeInto(call, arg string, data []byte, ptr reflect.Value) {
	ptr.Elem().SetZero()
	if err := gob.NewDecoder(bytes.NewReader(data)).DecodeValue(ptr); err != nil {
		panic(&UsageError{Call: call, Arg: arg,
			Msg: "cannot decode the received value into a " + ptr.Type().String() + "; the sender's value must have a compatible type",
			Err: err})
	}
}

// checkPtr panics unless ptr is a non-nil pointer, before any MPI call.
func checkPtr(call, arg string, ptr any) reflect.Value {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic(usagef(call, arg, "is %s; pass a non-nil pointer to the variable to fill, e.g. &x", typeName(ptr)))
	}
	return v
}

func byteCount(call, arg string, n int) C.int {
	if n > math.MaxInt32 {
		panic(usagef(call, arg, "encodes to %d bytes, more than an MPI count can hold (%d); send it in parts", n, math.MaxInt32))
	}
	return C.int(n)
}

func bytePtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// SendObj sends any Go value, encoded with encoding/gob, to dest (mpi4py's
// comm.send(obj, dest, tag)). Receive it with RecvObj into a variable of the
// same type.
//
//	comm.SendObj(map[string]int{"a": 7, "b": 3}, 1, 11)
//	comm.SendObj(Particle{X: 1, V: -2}, 1, 12)
func (c *Comm) SendObj(v any, dest, tag int) {
	const call = "Comm.SendObj"
	c.check(call)
	c.checkDest(call, dest)
	checkTag(call, "tag", tag, false)
	data := encode(call, "v", v)
	e := C.mpigo_send(addrOf(data), byteCount(call, "v", len(data)), C.MPIGO_BYTE, cRank(dest), C.int(tag), c.h, mode())
	runtime.KeepAlive(data)
	if e != 0 {
		c.fail(e, "Comm.SendObj(%s, %d bytes, dest=%s, tag=%d)", typeName(v), len(data), rankStr(dest), tag)
	}
	resched()
}

// RecvObj receives a value sent with SendObj into the variable ptr points
// to (mpi4py's obj = comm.recv(source, tag)). It uses a matched probe
// (MPI_Mprobe, MPI_Mrecv), so goroutines receiving at the same time never
// take each other's message. Status.Count is the encoded size in bytes.
//
//	var data map[string]int
//	st := comm.RecvObj(&data, 0, 11)
//	fmt.Println(data, "from", st.Source)
func (c *Comm) RecvObj(ptr any, source, tag int) Status {
	const call = "Comm.RecvObj"
	c.check(call)
	p := checkPtr(call, "ptr", ptr)
	c.checkSource(call, source)
	checkTag(call, "tag", tag, true)
	m := C.mpigo_mprobe_any(cRank(source), cTag(tag), c.c, c.recvMode(source))
	if m.st.err != 0 {
		c.fail(m.st.err, "Comm.RecvObj(source=%s, tag=%s) (MPI_Mprobe)", rankStr(source), tagStr(tag))
	}
	data := make([]byte, int(m.st.bytes))
	st := C.mpigo_mrecv(bytePtr(data), C.int(len(data)), C.MPIGO_BYTE, m.msg, c.recvMode(source))
	if st.err != 0 {
		c.fail(st.err, "Comm.RecvObj(source=%s, tag=%s) (MPI_Mrecv)", rankStr(source), tagStr(tag))
	}
	resched()
	if source == ProcNull {
		return procNullStatus
	}
	decodeInto(call, "ptr", data, p)
	return status(st, 0)
}

// bcastBytes broadcasts data (significant on root) and returns it on every
// rank.
func (c *Comm) bcastBytes(call string, data []byte, root int) []byte {
	n := []int64{int64(len(data))}
	e := C.mpigo_bcast(C.uintptr_t(uintptr(unsafe.Pointer(&n[0]))), 1, C.MPIGO_INT64, C.int(root), c.h, mode())
	runtime.KeepAlive(n)
	if e != 0 {
		c.fail(e, "%s(root=%d) (size)", call, root)
	}
	if c.rank != root {
		data = make([]byte, n[0])
	}
	e = C.mpigo_bcast(addrOf(data), byteCount(call, "ptr", int(n[0])), C.MPIGO_BYTE, C.int(root), c.h, mode())
	runtime.KeepAlive(data)
	if e != 0 {
		c.fail(e, "%s(%d bytes, root=%d)", call, n[0], root)
	}
	return data
}

// BcastObj sends the value *ptr holds on root to every rank, where it is
// stored into *ptr (mpi4py's obj = comm.bcast(obj, root)). Every rank
// passes a non-nil pointer to a variable of the same type.
//
//	var cfg Config
//	if comm.Rank() == 0 {
//		cfg = loadConfig()
//	}
//	comm.BcastObj(&cfg, 0)
func (c *Comm) BcastObj(ptr any, root int) {
	const call = "Comm.BcastObj"
	c.check(call)
	p := checkPtr(call, "ptr", ptr)
	c.checkRoot(call, root)
	var data []byte
	if c.rank == root {
		data = encode(call, "ptr", ptr)
	}
	data = c.bcastBytes(call, data, root)
	if c.rank != root {
		decodeInto(call, "ptr", data, p)
	}
	resched()
}

// ScatterObj gives element i of the slice on root to rank i, stored into
// *ptr (mpi4py's x = comm.scatter(list, root)). On root, slice must be a
// slice (or array) with exactly Size() elements; elsewhere it is ignored and
// may be nil. Every rank, root included, receives a decoded copy.
//
//	var jobs []string
//	if comm.Rank() == 0 {
//		jobs = []string{"a", "b", "c", "d"}[:comm.Size()]
//	}
//	var job string
//	comm.ScatterObj(jobs, &job, 0)
func (c *Comm) ScatterObj(slice any, ptr any, root int) {
	const call = "Comm.ScatterObj"
	c.check(call)
	p := checkPtr(call, "ptr", ptr)
	c.checkRoot(call, root)
	var sendBuf []byte
	var counts, displs []C.int
	if c.rank == root {
		v := reflect.ValueOf(slice)
		if v.Kind() == reflect.Pointer && !v.IsNil() && (v.Elem().Kind() == reflect.Slice || v.Elem().Kind() == reflect.Array) {
			v = v.Elem()
		}
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			panic(usagef(call, "slice", "is %s on root; pass a slice with one element per rank", typeName(slice)))
		}
		if v.Len() != c.size {
			panic(usagef(call, "slice", "has %d elements on root, but the communicator has %d ranks; pass exactly comm.Size() elements, one per rank", v.Len(), c.size))
		}
		var all bytes.Buffer
		counts = make([]C.int, c.size)
		displs = make([]C.int, c.size)
		for i := 0; i < c.size; i++ {
			start := all.Len()
			if err := gob.NewEncoder(&all).EncodeValue(v.Index(i)); err != nil {
				panic(&UsageError{Call: call, Arg: "slice",
					Msg: "cannot encode element " + strconv.Itoa(i) + " (" + v.Index(i).Type().String() + ") with encoding/gob", Err: err})
			}
			counts[i] = byteCount(call, "slice", all.Len()-start)
			displs[i] = byteCount(call, "slice", start)
		}
		sendBuf = all.Bytes()
	}
	n := []int32{0}
	var countPtr unsafe.Pointer
	if counts != nil {
		countPtr = unsafe.Pointer(&counts[0])
	}
	if e := C.mpigo_scatter(countPtr, unsafe.Pointer(&n[0]), 1, C.MPIGO_INT32, C.int(root), c.c, mode()); e != 0 {
		c.fail(e, "Comm.ScatterObj(root=%d) (sizes)", root)
	}
	data := make([]byte, n[0])
	var cp, dp *C.int
	if counts != nil {
		cp, dp = &counts[0], &displs[0]
	}
	if e := C.mpigo_scatterv(bytePtr(sendBuf), cp, dp, bytePtr(data), C.int(n[0]), C.MPIGO_BYTE, C.int(root), c.c, mode()); e != 0 {
		c.fail(e, "Comm.ScatterObj(root=%d)", root)
	}
	decodeInto(call, "ptr", data, p)
	resched()
}

// gatherSizes gathers len(data) of every rank (to all ranks if all is set,
// else to root) and returns counts and displacements where significant.
func (c *Comm) gatherSizes(call string, n int, root int, all bool) (counts, displs []C.int, total int) {
	mine := []int32{int32(byteCount(call, "v", n))}
	if all || c.rank == root {
		counts = make([]C.int, c.size)
		displs = make([]C.int, c.size)
	}
	var cp unsafe.Pointer
	if counts != nil {
		cp = unsafe.Pointer(&counts[0])
	}
	var e C.int
	if all {
		e = C.mpigo_allgather(unsafe.Pointer(&mine[0]), cp, 1, C.MPIGO_INT32, c.c, mode())
	} else {
		e = C.mpigo_gather(unsafe.Pointer(&mine[0]), cp, 1, C.MPIGO_INT32, C.int(root), c.c, mode())
	}
	if e != 0 {
		c.fail(e, "%s (sizes)", call)
	}
	for i := range counts {
		displs[i] = byteCount(call, "v", total)
		total += int(counts[i])
	}
	byteCount(call, "v", total)
	return counts, displs, total
}

// decodeAll decodes each rank's part of data into a new slice stored in
// *slicePtr.
func decodeAll(call string, data []byte, counts, displs []C.int, sp reflect.Value) {
	s := reflect.MakeSlice(sp.Elem().Type(), len(counts), len(counts))
	for i := range counts {
		part := data[displs[i] : displs[i]+counts[i]]
		decodeInto(call, "slicePtr", part, s.Index(i).Addr())
	}
	sp.Elem().Set(s)
}

func checkSlicePtr(call string, slicePtr any) reflect.Value {
	v := reflect.ValueOf(slicePtr)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Slice {
		panic(usagef(call, "slicePtr", "is %s; pass a pointer to a slice variable, e.g. &results with var results []T", typeName(slicePtr)))
	}
	return v
}

// GatherObj collects v from every rank into a slice on root: *slicePtr
// becomes a new slice with rank i's value at index i (mpi4py's
// list = comm.gather(obj, root)). On other ranks slicePtr is ignored and may
// be nil.
//
//	var names []string
//	comm.GatherObj(mpi.ProcessorName(), &names, 0)
//	if comm.Rank() == 0 {
//		fmt.Println(names)
//	}
func (c *Comm) GatherObj(v any, slicePtr any, root int) {
	const call = "Comm.GatherObj"
	c.check(call)
	c.checkRoot(call, root)
	var sp reflect.Value
	if c.rank == root {
		sp = checkSlicePtr(call, slicePtr)
	}
	data := encode(call, "v", v)
	counts, displs, total := c.gatherSizes(call, len(data), root, false)
	var recv []byte
	var cp, dp *C.int
	if c.rank == root {
		recv = make([]byte, total)
		cp, dp = &counts[0], &displs[0]
	}
	if e := C.mpigo_gatherv(bytePtr(data), C.int(len(data)), bytePtr(recv), cp, dp, C.MPIGO_BYTE, C.int(root), c.c, mode()); e != 0 {
		c.fail(e, "Comm.GatherObj(%s, root=%d)", typeName(v), root)
	}
	if c.rank == root {
		decodeAll(call, recv, counts, displs, sp)
	}
	resched()
}

// AllgatherObj is GatherObj with the slice on every rank (mpi4py's
// list = comm.allgather(obj)).
//
//	var all []Result
//	comm.AllgatherObj(mine, &all)
func (c *Comm) AllgatherObj(v any, slicePtr any) {
	const call = "Comm.AllgatherObj"
	c.check(call)
	sp := checkSlicePtr(call, slicePtr)
	data := encode(call, "v", v)
	counts, displs, total := c.gatherSizes(call, len(data), 0, true)
	recv := make([]byte, total)
	if e := C.mpigo_allgatherv(bytePtr(data), C.int(len(data)), bytePtr(recv), &counts[0], &displs[0], C.MPIGO_BYTE, c.c, mode()); e != 0 {
		c.fail(e, "Comm.AllgatherObj(%s)", typeName(v))
	}
	decodeAll(call, recv, counts, displs, sp)
	resched()
}

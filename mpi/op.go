package mpi

// #include "mpigo.h"
import "C"

import "strconv"

// Op is a reduction operation for Reduce and Allreduce (MPI.SUM and friends
// in mpi4py). Sum, Prod, Max and Min apply to numbers (Max and Min not to
// complex numbers), LAnd, LOr and LXor to bool, BAnd, BOr and BXor to
// integers; anything else panics before MPI is called.
//
//	comm.Allreduce(local, total, mpi.Sum)
type Op int

// The reduction operations.
const (
	// Sum adds element-wise (MPI_SUM); integer, float and complex slices.
	//
	//	comm.Allreduce([]float64{x}, sum, mpi.Sum)
	Sum Op = C.MPIGO_SUM
	// Prod multiplies element-wise (MPI_PROD); integer, float and complex slices.
	//
	//	comm.Allreduce([]int{n}, prod, mpi.Prod)
	Prod Op = C.MPIGO_PROD
	// Max keeps the largest element (MPI_MAX); integer and float slices.
	//
	//	comm.Reduce([]float64{t}, tmax, mpi.Max, 0)
	Max Op = C.MPIGO_MAX
	// Min keeps the smallest element (MPI_MIN); integer and float slices.
	//
	//	comm.Reduce([]float64{t}, tmin, mpi.Min, 0)
	Min Op = C.MPIGO_MIN
	// LAnd is logical and (MPI_LAND); bool slices.
	//
	//	comm.Allreduce([]bool{converged}, all, mpi.LAnd)
	LAnd Op = C.MPIGO_LAND
	// LOr is logical or (MPI_LOR); bool slices.
	//
	//	comm.Allreduce([]bool{found}, any, mpi.LOr)
	LOr Op = C.MPIGO_LOR
	// LXor is logical exclusive or (MPI_LXOR); bool slices.
	//
	//	comm.Allreduce([]bool{odd}, parity, mpi.LXor)
	LXor Op = C.MPIGO_LXOR
	// BAnd is bitwise and (MPI_BAND); integer and byte slices.
	//
	//	comm.Allreduce([]uint64{mask}, common, mpi.BAnd)
	BAnd Op = C.MPIGO_BAND
	// BOr is bitwise or (MPI_BOR); integer and byte slices.
	//
	//	comm.Allreduce([]uint64{flags}, union, mpi.BOr)
	BOr Op = C.MPIGO_BOR
	// BXor is bitwise exclusive or (MPI_BXOR); integer and byte slices.
	//
	//	comm.Allreduce(checksum, x, mpi.BXor)
	BXor Op = C.MPIGO_BXOR
)

var opNames = [...]string{
	Sum: "Sum", Prod: "Prod", Max: "Max", Min: "Min", LAnd: "LAnd", LOr: "LOr",
	LXor: "LXor", BAnd: "BAnd", BOr: "BOr", BXor: "BXor",
}

// String returns the Go name of the operation, e.g. "Sum".
//
//	fmt.Println(mpi.Sum) // Sum
func (op Op) String() string {
	if op >= 0 && int(op) < len(opNames) {
		return opNames[op]
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// checkOp panics unless op applies to elements of kind k.
func checkOp(call string, op Op, k kind, buf any) {
	ok := false
	var fix string
	switch op {
	case Sum, Prod:
		ok = k != kBool
		fix = "Sum and Prod add and multiply numbers; for bool use LAnd, LOr or LXor"
	case Max, Min:
		ok = k.isInteger() || k.isFloat()
		fix = "Max and Min compare integers and floats"
		if k == kBool {
			fix += "; for bool use LAnd (all) or LOr (any)"
		} else if k.isComplex() {
			fix += "; complex numbers have no order: reduce their real parts or magnitudes"
		}
	case LAnd, LOr, LXor:
		ok = k == kBool
		fix = op.String() + " works on []bool; for integers use BAnd, BOr or BXor (bitwise), for numbers Sum, Prod, Max or Min"
	case BAnd, BOr, BXor:
		ok = k.isInteger()
		fix = op.String() + " works on integer slices (int, uint, byte, ...)"
		if k == kBool {
			fix += "; for bool use LAnd, LOr or LXor"
		} else {
			fix += "; for " + kindName[k] + " use Sum, Prod, Max or Min"
		}
	default:
		panic(usagef(call, "op", "%d is not an operation; use mpi.Sum, Prod, Max, Min, LAnd, LOr, LXor, BAnd, BOr or BXor", int(op)))
	}
	if !ok {
		panic(usagef(call, "op", "%s does not apply to %s: %s", op, typeName(buf), fix))
	}
}

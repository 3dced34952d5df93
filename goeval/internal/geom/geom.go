// Package geom is a small package that goeval's tests compile into the test
// binary and register, as the kernel registers the packages it compiles
// into an interpreter.
package geom

import (
	"encoding/binary"
	"errors"
	"math"
)

// Dim is the dimension of the plane.
const Dim = 2

// Point is a point of the plane.
type Point struct{ X, Y float64 }

// Norm returns the distance of p from the origin.
func (p Point) Norm() float64 { return math.Hypot(p.X, p.Y) }

// Origin is the origin of the plane.
var Origin = Point{}

// Scale returns p scaled by k.
func Scale(p Point, k float64) Point { return Point{p.X * k, p.Y * k} }

// Map applies f to each element of xs.
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// Pair is a pair of values.
type Pair[A, B any] struct {
	First  A
	Second B
}

// Vec is a vector whose elements are hidden, as gonum's matrices are; it
// implements encoding.BinaryMarshaler.
type Vec struct{ data []float64 }

// NewVec returns a vector of xs.
func NewVec(xs ...float64) *Vec { return &Vec{data: append([]float64(nil), xs...)} }

// At returns element i.
func (v *Vec) At(i int) float64 { return v.data[i] }

// Len returns the number of elements.
func (v *Vec) Len() int { return len(v.data) }

// MarshalBinary implements encoding.BinaryMarshaler.
func (v *Vec) MarshalBinary() ([]byte, error) {
	b := make([]byte, 8*len(v.data))
	for i, x := range v.data {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b, nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (v *Vec) UnmarshalBinary(b []byte) error {
	if len(b)%8 != 0 {
		return errors.New("geom: bad Vec encoding")
	}
	v.data = make([]float64, len(b)/8)
	for i := range v.data {
		v.data[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return nil
}

// Secret has a hidden field and no encoding: gob would lose the field.
type Secret struct {
	Label string
	code  int
}

// NewSecret returns a secret.
func NewSecret(label string, code int) Secret { return Secret{label, code} }

// Code returns the hidden field.
func (s Secret) Code() int { return s.code }

//go:build !goexperiment.cgocheck2

package mpi

// cgocheck2 is true in a test binary built with GOEXPERIMENT=cgocheck2.
const cgocheck2 = false

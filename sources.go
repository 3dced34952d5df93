// Package mpigo carries the Go sources that the programs of the %mpirun magic
// and `mpigo run` are built against: packages mpi and display, embedded in the
// mpigo binary so that those builds need neither the network nor a checkout
// of mpigo (see package mpimagic).
package mpigo

import "embed"

// Sources holds go.mod and the directories of packages mpi, display and
// mpimagic/rankio (the rank wrapper) as they were when mpigo was built (test
// files and test programs included; whoever writes them out picks the files
// a build needs).
//
//go:embed go.mod mpi display mpimagic/rankio
var Sources embed.FS

// Package mpigo carries the Go sources that the programs of the %mpirun magic
// and `mpigo run` are built against: packages mpi and display, embedded in the
// mpigo binary so that those builds need neither the network nor a checkout
// of mpigo (see package mpimagic).
package mpigo

import "embed"

// Sources holds go.mod, go.sum and the directories of packages mpi,
// display and mpimagic/rankio (the rank wrapper), those the plain-cell
// interpreter is made of (worker, goeval, cellio, debugproto), and those a persistent
// rank adds (mpimagic/px/pxrank, mpimagic/px/pxwire), as they were when mpigo
// was built (test files and test programs included; whoever writes them
// out picks the files a build needs). package interpbuild builds
// interpreters with a session's packages compiled in from them.
//
//go:embed go.mod go.sum mpi display mpimagic/rankio mpimagic/px/pxrank mpimagic/px/pxwire cellio/*.go worker/*.go goeval/*.go goeval/stdsrc goeval/fmtview debugproto/*.go
var Sources embed.FS

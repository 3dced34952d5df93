// Package worker runs a goeval session in a child process and drives it from the
// kernel, so that nothing a cell does (a fatal error, a stack overflow, a stuck
// cgo call) can take the kernel down with it.
package worker

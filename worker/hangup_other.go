//go:build !linux

package worker

// exitOnHangup is Linux only: elsewhere the process sees its parent's end
// close only between operations, when it reads the next request.
func exitOnHangup(fd int) {}

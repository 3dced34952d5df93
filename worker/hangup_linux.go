package worker

import (
	"os"
	"syscall"
	"unsafe"
)

// exitOnHangup ends the process as soon as every writer of fd (the request
// pipe) has closed it: the kernel stopped us, or died, perhaps killed with
// SIGKILL in the middle of a cell. The request loop does not read while a
// cell runs, so it cannot see the end-of-file then. A thread waits in
// ppoll for the hang-up alone (no events asked, so requests never wake it).
func exitOnHangup(fd int) {
	go func() {
		const pollErr, pollHup = 0x8, 0x10
		pfd := struct {
			fd              int32
			events, revents int16
		}{fd: int32(fd)}
		for {
			_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, 0, 0, 0, 0)
			switch {
			case errno == syscall.EINTR:
				continue
			case errno != 0:
				return
			case pfd.revents&(pollErr|pollHup) != 0:
				os.Exit(0)
			default: // the fd was closed here (POLLNVAL): not a hang-up
				return
			}
		}
	}()
}

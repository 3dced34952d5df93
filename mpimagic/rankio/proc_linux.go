package rankio

import (
	"syscall"
)

// setParentDeathSignal asks Linux to send sig to this process when its
// parent (the launcher) dies.
func setParentDeathSignal(sig syscall.Signal) {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(sig), 0)
}

// childProcAttr makes a wrapper's program die with the wrapper: SIGKILL
// when the thread that started it exits (the wrapper keeps that thread).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// getpgid returns this process's process group.
func getpgid() int {
	return syscall.Getpgrp()
}

package launch

import "syscall"

// LauncherProcAttr puts the launcher in a process group of its own, and
// sends it SIGTERM should the kernel die without stopping it.
func LauncherProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

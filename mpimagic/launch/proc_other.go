//go:build !linux

package launch

import "syscall"

// LauncherProcAttr puts the launcher in a process group of its own.
func LauncherProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

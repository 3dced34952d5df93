//go:build !linux

package mpimagic

import "syscall"

// launcherProcAttr puts the launcher in a process group of its own.
func launcherProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

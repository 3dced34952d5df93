//go:build !linux

package rankio

import "syscall"

// setParentDeathSignal is Linux only.
func setParentDeathSignal(sig syscall.Signal) {}

// childProcAttr: no parent death signal outside Linux.
func childProcAttr() *syscall.SysProcAttr { return nil }

// getpgid returns this process's process group.
func getpgid() int { return syscall.Getpgrp() }

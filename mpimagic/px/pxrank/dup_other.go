//go:build !linux

package pxrank

import "syscall"

// dupTo makes fd newfd refer to what oldfd does.
func dupTo(oldfd, newfd int) error { return syscall.Dup2(oldfd, newfd) }

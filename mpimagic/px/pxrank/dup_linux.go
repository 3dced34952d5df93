package pxrank

import "syscall"

// dupTo makes fd newfd refer to what oldfd does (dup2; linux/arm64 has
// only dup3).
func dupTo(oldfd, newfd int) error { return syscall.Dup3(oldfd, newfd, 0) }

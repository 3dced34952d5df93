//go:build !linux || mips || mipsle || mips64 || mips64le

package kernel

import (
	"context"
	"errors"
)

// errNoExitEvent says the system offers no event for another process's exit
// here; the kernel polls its parent instead.
var errNoExitEvent = errors.New("no process exit event on this system")

// waitExit always fails here, so that the parent is polled.
func waitExit(ctx context.Context, pid int, getppid func() int) (bool, error) {
	return false, errNoExitEvent
}

//go:build linux && !mips && !mipsle && !mips64 && !mips64le

package kernel

import (
	"context"
	"testing"
	"time"
)

// TestWaitExitIsAnEvent checks that on Linux the parent's exit is seen as an
// event (pidfd): getppid keeps reporting the dead parent, so no poll could
// ever see it.
func TestWaitExitIsAnEvent(t *testing.T) {
	pid, kill := sleeper(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		exited bool
		err    error
	}
	done := make(chan result, 1)
	go func() {
		exited, err := waitExit(ctx, pid, func() int { return pid })
		done <- result{exited, err}
	}()
	kill()
	select {
	case r := <-done:
		if !r.exited || r.err != nil {
			t.Errorf("waitExit = %v, %v; want true, nil", r.exited, r.err)
		}
	case <-time.After(waitLimit):
		t.Fatal("waitExit did not see the exit")
	}
}

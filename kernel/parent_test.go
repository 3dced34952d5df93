package kernel

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchedParent(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  string
		ppid int
		want int
	}{
		{"started by jupyter_client", "4242", 4242, 4242},
		{"a launcher in between", "4242", 777, 777},
		{"spaces around the value", " 4242\n", 4242, 4242},
		{"not started by jupyter_client", "", 4242, 0},
		{"not a number", "abc", 4242, 0},
		{"jupyter_client was init", "1", 1, 0},
		{"negative", "-5", 4242, 0},
		{"orphaned before starting", "4242", 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := WatchedParent(tt.env, tt.ppid); got != tt.want {
				t.Errorf("WatchedParent(%q, %d) = %d, want %d", tt.env, tt.ppid, got, tt.want)
			}
		})
	}
}

// sleeper starts a process that stands in for the kernel's parent and
// returns it and a function that kills it (and reaps it).
func sleeper(t *testing.T) (pid int, kill func()) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once atomic.Bool
	kill = func() {
		if once.CompareAndSwap(false, true) {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(kill)
	return cmd.Process.Pid, kill
}

// exitedPID returns the PID of a process that has exited and been reaped.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// reparentedAfter returns a getppid that reports pid while the parent lives
// and 1 (re-parented to init) once gone() says it is gone.
func reparentedAfter(pid int, gone func() bool) func() int {
	return func() int {
		if gone() {
			return 1
		}
		return pid
	}
}

func TestWatchParent(t *testing.T) {
	for _, tt := range []struct {
		name string
		// setup returns the PID to watch, the fake getppid, and what to
		// do once watching has begun.
		setup    func(t *testing.T, cancel context.CancelFunc) (pid int, getppid func() int, act func())
		wantGone bool
	}{
		{"parent exits", func(t *testing.T, _ context.CancelFunc) (int, func() int, func()) {
			pid, kill := sleeper(t)
			var killed atomic.Bool
			return pid, reparentedAfter(pid, killed.Load), func() { killed.Store(true); kill() }
		}, true},
		{"re-parented before watching", func(t *testing.T, _ context.CancelFunc) (int, func() int, func()) {
			pid, _ := sleeper(t)
			return pid, func() int { return 1 }, func() {}
		}, true},
		{"parent PID no longer exists", func(t *testing.T, _ context.CancelFunc) (int, func() int, func()) {
			pid := exitedPID(t)
			return pid, func() int { return pid }, func() {}
		}, true},
		{"kernel stops first", func(t *testing.T, cancel context.CancelFunc) (int, func() int, func()) {
			pid, _ := sleeper(t)
			return pid, func() int { return pid }, cancel
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pid, getppid, act := tt.setup(t, cancel)
			done := make(chan bool, 1)
			go func() { done <- waitParent(ctx, pid, getppid, discard()) }()
			act()
			select {
			case gone := <-done:
				if gone != tt.wantGone {
					t.Errorf("waitParent = %v, want %v", gone, tt.wantGone)
				}
			case <-time.After(waitLimit):
				t.Fatalf("waitParent did not return within %v", waitLimit)
			}
		})
	}
}

func TestWatchParentNone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	called := false
	gone := watchParent(ctx, 0, func() int { called = true; return 1 }, discard())
	select {
	case <-gone:
		t.Error("the channel closed although no parent was watched")
	default:
	}
	if called {
		t.Error("getppid was called although no parent was watched")
	}
}

func TestPollParent(t *testing.T) {
	for _, tt := range []struct {
		name     string
		changeAt int // getppid reports a new parent from this call on; 0 never
		wantGone bool
	}{
		{"changed at once", 1, true},
		{"changed later", 4, true},
		{"never changed", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			var calls atomic.Int32
			getppid := func() int {
				if n := int(calls.Add(1)); tt.changeAt > 0 && n >= tt.changeAt {
					return 1
				}
				return 4242
			}
			if got := pollParent(ctx, 4242, getppid, time.Millisecond); got != tt.wantGone {
				t.Errorf("pollParent = %v, want %v", got, tt.wantGone)
			}
			if tt.wantGone && int(calls.Load()) != tt.changeAt {
				t.Errorf("getppid called %d times, want %d (stop at the change)", calls.Load(), tt.changeAt)
			}
		})
	}
}

// TestParentExitShutsDown checks the whole path: the front end exits while a
// cell runs; the cell is interrupted, the engine closed, and Run returns
// ErrParentExited.
func TestParentExitShutsDown(t *testing.T) {
	pid, kill := sleeper(t)
	var killed atomic.Bool
	tk := startKernelWith(t, func(cfg *Config) {
		cfg.ParentPID = pid
		cfg.getppid = reparentedAfter(pid, killed.Load)
	})
	c := tk.client
	id := c.send(c.shell, "execute_request", map[string]any{"code": "block"})
	if c.box.waitFor(id, "stream") == nil {
		t.Fatal("cell did not start")
	}
	killed.Store(true)
	kill()
	select {
	case err := <-tk.done:
		if !errors.Is(err, ErrParentExited) {
			t.Errorf("Run = %v, want ErrParentExited", err)
		}
		tk.done <- err // for the cleanup
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after the parent exited")
	}
	if ct := content(t, c.reply(c.shell, id)); ct["status"] != "error" || ct["ename"] != "Interrupted" {
		t.Errorf("reply of the running cell = %v, want an Interrupted error", ct)
	}
	tk.engine.mu.Lock()
	defer tk.engine.mu.Unlock()
	if !tk.engine.closed {
		t.Error("engine not closed")
	}
}

package worker

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envKernelRole makes the test binary play a kernel: it starts an engine, runs
// a cell that sleeps, prints the interpreter's PID and waits to be killed.
const envKernelRole = "MPIGO_WORKER_TEST_KERNEL"

// kernelRole is the test binary as a kernel (see envKernelRole).
func kernelRole() int {
	e, err := Start(context.Background(), Config{
		Command: []string{os.Args[0]},
		Env:     append(os.Environ(), envKernelRole+"=0", "MPIGO_WORKER_TEST_CHILD=1"),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	started := make(chan struct{})
	out := watched(func(name, text string) {
		if strings.Contains(text, "started") {
			close(started)
		}
	})
	go e.Execute(context.Background(), Request{Code: `fmt.Println("started"); time.Sleep(time.Hour)`, Cell: 1}, out)
	<-started
	fmt.Println(e.proc.cmd.Process.Pid)
	select {} // until killed
}

// gone reports whether pid has exited (a zombie nobody reaped counts).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	return strings.HasPrefix(s[strings.LastIndexByte(s, ')')+1:], " Z")
}

// TestInterpreterDiesWithKernel checks that the interpreter process does not
// outlive a kernel killed with SIGKILL (which no handler can see), even in the
// middle of a cell: its request pipe reaches end-of-file when the kernel's
// end closes with the kernel, and Serve returns.
func TestInterpreterDiesWithKernel(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	k := exec.Command(os.Args[0])
	k.Env = append(os.Environ(), envKernelRole+"=1")
	k.Stderr = os.Stderr
	stdout, err := k.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	defer k.Process.Kill()
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Scan()
		line <- sc.Text()
	}()
	var pid int
	select {
	case l := <-line:
		if pid, err = strconv.Atoi(l); err != nil {
			t.Fatalf("kernel said %q, want the interpreter's PID", l)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the kernel's cell did not start")
	}
	if gone(pid) {
		t.Fatalf("interpreter %d is not running while its cell runs", pid)
	}
	t.Logf("interpreter %d; killing kernel %d", pid, k.Process.Pid)
	if err := k.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	k.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("interpreter %d still runs 10 s after its kernel was killed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

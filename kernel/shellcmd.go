package kernel

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/display"
)

const (
	// killGrace is how long an interrupted command has between SIGTERM and SIGKILL.
	killGrace = time.Second
	// drainGrace is how long output is still read after the command exits:
	// a background child (cmd &) may hold the pipes open indefinitely.
	drainGrace = 250 * time.Millisecond
)

// shellCommand runs command with /bin/sh -c in the kernel's directory and
// environment, in its own process group, streaming its stdout and stderr as
// they come. An interrupt kills the group. A non-zero exit is not a cell
// error (as in IPython); it is reported on stderr.
func (k *kernel) shellCommand(ctx context.Context, command string, out cellio.Output) error {
	if strings.TrimSpace(command) == "" {
		return nil
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return magicError("!: %v", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return magicError("!: %v", err)
	}
	defer outR.Close()
	defer errR.Close()
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Stdout, cmd.Stderr = outW, errW // stdin stays /dev/null: nothing can answer it
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	outW.Close() // the child has its copies; EOF comes when it (and its children) close them
	errW.Close()
	if err != nil {
		return magicError("!: %v", err)
	}
	pgid := cmd.Process.Pid

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pump(outR, "stdout", out) }()
	go func() { defer wg.Done(); pump(errR, "stderr", out) }()

	exited := make(chan struct{})
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		select {
		case <-exited:
			return
		case <-ctx.Done():
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(killGrace):
		}
		// Also reaches children that outlived the shell.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}()
	werr := cmd.Wait()
	close(exited)
	<-killed

	deadline := time.Now().Add(drainGrace)
	_ = outR.SetReadDeadline(deadline)
	_ = errR.SetReadDeadline(deadline)
	wg.Wait()

	if ctx.Err() != nil {
		return interruptedError()
	}
	var exitErr *exec.ExitError
	if errors.As(werr, &exitErr) {
		out.Stream("stderr", exitErr.Error()+"\n") // "exit status N" or "signal: ..."
		return nil
	}
	if werr != nil {
		return magicError("!: %v", werr)
	}
	return nil
}

// pump streams r to out as chunks arrive, never splitting a UTF-8 sequence
// between two messages.
func pump(r io.Reader, name string, out cellio.Output) {
	sp := display.NewSplitter("") // no records in shell output: whole runes only
	send := func(pieces []display.Piece) {
		for _, p := range pieces {
			out.Stream(name, string(p.Text))
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			send(sp.Split(buf[:n]))
		}
		if err != nil {
			break
		}
	}
	send(sp.Flush())
}

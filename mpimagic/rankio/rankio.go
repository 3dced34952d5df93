package rankio

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// rankEnvVars returns the variables launchers set to a process's rank in
// MPI_COMM_WORLD, in the order they are trusted.
func rankEnvVars() []string {
	return []string{"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}
}

// RankFromEnv returns the rank the launcher gave this process, from
// OMPI_COMM_WORLD_RANK (Open MPI), PMIX_RANK, PMI_RANK (MPICH, Intel MPI)
// or SLURM_PROCID (srun).
func RankFromEnv(getenv func(string) string) (int, bool) {
	for _, v := range rankEnvVars() {
		if s := getenv(v); s != "" {
			if r, err := strconv.Atoi(s); err == nil && r >= 0 {
				return r, true
			}
		}
	}
	return 0, false
}

// KillGrace is how long a program has between SIGTERM and SIGKILL.
const KillGrace = 700 * time.Millisecond

// Main is the rank wrapper, `mpigo rankio -- PROGRAM ARGS...` or the small
// wrapper binary %mpirun builds from this package: what the launcher starts on
// every rank: it runs the program with its stdout and stderr on pipes and
// forwards what it writes, then its exit status, over a TCP connection to
// the magic named by $MPIGO_RANKIO (see parseSpec). Unlike the launcher's own output
// forwarding, this keeps every byte attributed to its rank and delivers the
// last output of a rank that dies. A SIGTERM (from the launcher) or a
// control byte from the magic is passed on to the program; when the
// connection breaks (the kernel is gone) the program is killed. Without a
// connection (none given, or none possible) the output goes to this
// process's own stdout and stderr, each line prefixed with "[rank N] ".
// It returns the exit status to exit with: the program's, or 128+signal.
func Main(args []string, stdout, stderr io.Writer) int {
	value := len(args) > 0 && args[0] == ValueFlag
	if value {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: mpigo rankio [--value] -- PROGRAM [ARGS...] (started by %mpirun under the MPI launcher)")
		return 2
	}
	setParentDeathSignal(syscall.SIGTERM)
	rank, ok := RankFromEnv(os.Getenv)
	spec := os.Getenv(EnvVar)
	if !ok {
		rank = -1
		if spec != "" {
			fmt.Fprintf(stderr, "mpigo rankio: the launcher gave this process no rank (none of %s is set); its output goes through the launcher\n", strings.Join(rankEnvVars(), ", "))
			spec = ""
		}
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvVar+"=") && !strings.HasPrefix(kv, ValueEnvVar+"=") {
			env = append(env, kv)
		}
	}
	var conn net.Conn
	if spec != "" {
		a := ParseAddress(spec)
		addrs, token := a.From(Hostname()), a.Token
		c, err := dialAny(addrs, 10*time.Second)
		if err != nil {
			fmt.Fprintf(stderr, "mpigo rankio: rank %d cannot reach the notebook kernel (%v); its output goes through the launcher instead\n", rank, err)
		} else {
			conn = c
			defer conn.Close()
			w := &rankWriter{w: bufio.NewWriterSize(conn, 64<<10)}
			return runRank(args, env, value, rank, token, conn, w, stderr)
		}
	}
	return runRankLocal(args, env, rank, stdout, stderr)
}

// DialAny connects to the first of addrs that answers (the addresses of
// an Address.From), trying them all at once so that an address that never
// answers costs no time; persistent ranks (package pxrank) use it too.
func DialAny(addrs []string, timeout time.Duration) (net.Conn, error) {
	return dialAny(addrs, timeout)
}

// dialAny connects to the first of addrs that answers.
func dialAny(addrs []string, timeout time.Duration) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, len(addrs))
	for _, a := range addrs {
		go func(a string) {
			c, err := net.DialTimeout("tcp", a, timeout)
			ch <- result{c, err}
		}(a)
	}
	first := errors.New("no address")
	for i := range addrs {
		r := <-ch
		if r.err != nil {
			if i == 0 {
				first = r.err
			}
			continue
		}
		go func(left int) { // close the connections that succeed later
			for ; left > 0; left-- {
				if late := <-ch; late.c != nil {
					late.c.Close()
				}
			}
		}(len(addrs) - i - 1)
		return r.c, nil
	}
	return nil, first
}

// rankWriter serialises frames from the output copiers and the exit.
type rankWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (rw *rankWriter) frame(typ byte, payload []byte) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if err := WriteFrame(rw.w, typ, payload); err != nil {
		return err
	}
	return rw.w.Flush()
}

// child is the program a wrapper runs.
type child struct {
	cmd      *exec.Cmd
	outR     *os.File
	errR     *os.File
	valR     *os.File // the value channel (ValueFlag); nil without one
	start    time.Time
	exited   chan struct{}
	killOnce sync.Once
}

// startChild starts the program with its output on pipes. The calling
// goroutine must stay locked to its thread for the program's life: the
// program gets SIGKILL when that thread (the wrapper) dies.
// With value, the program gets the value channel (ValueFlag) as fd 3.
func startChild(args, env []string, value bool) (*child, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	cmd.Stdin = os.Stdin
	cmd.SysProcAttr = childProcAttr()
	var valR, valW *os.File
	if value {
		var err error
		if valR, valW, err = os.Pipe(); err != nil {
			return nil, err
		}
		cmd.ExtraFiles = []*os.File{valW}
		cmd.Env = append(cmd.Env, ValueEnvVar+"=3")
	}
	outR, errR, err := StartPiped(cmd)
	if valW != nil {
		valW.Close() // only the program holds the write end
	}
	if err != nil {
		if valR != nil {
			valR.Close()
		}
		return nil, err
	}
	return &child{cmd: cmd, outR: outR, errR: errR, valR: valR, exited: make(chan struct{}), start: time.Now()}, nil
}

// StartPiped starts cmd with its stdout and stderr on two pipes, and
// returns their read ends; only cmd holds the write ends, so a read ends
// when every process that inherited them is gone.
func StartPiped(cmd *exec.Cmd) (stdout, stderr *os.File, err error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, nil, err
	}
	return outR, errR, nil
}

// signal sends sig to the program if it still runs.
func (c *child) signal(sig os.Signal) {
	select {
	case <-c.exited:
	default:
		_ = c.cmd.Process.Signal(sig)
	}
}

// terminate sends SIGTERM, then SIGKILL after the grace period.
func (c *child) terminate() {
	c.killOnce.Do(func() {
		c.signal(syscall.SIGTERM)
		go func() {
			select {
			case <-c.exited:
			case <-time.After(KillGrace):
				c.signal(syscall.SIGKILL)
			}
		}()
	})
}

// wait waits for the program and returns how it ended.
func (c *child) wait() Exit {
	_ = c.cmd.Wait() // the status is in ProcessState
	close(c.exited)
	info := Exit{WallNS: int64(time.Since(c.start))}
	info.Code, info.Signal = exitStatus(c.cmd.ProcessState)
	return info
}

// exitStatus reads an exit code or the signal that killed a process.
func exitStatus(ps *os.ProcessState) (code, sig int) {
	if ps == nil {
		return -1, 0
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, int(ws.Signal())
	}
	return ps.ExitCode(), 0
}

// exitCode is the status a wrapper exits with for info.
func exitCode(info Exit) int {
	if info.Signal > 0 {
		return 128 + info.Signal
	}
	if info.Code < 0 {
		return 255
	}
	return info.Code
}

// forwardSignals passes SIGTERM, SIGINT and SIGHUP on to the program.
func forwardSignals(c *child) func() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGTERM {
					c.terminate()
				} else {
					c.signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}

// runRank runs the program with its output, its value (with value) and
// its exit going over conn.
func runRank(args, env []string, value bool, rank int, token string, conn net.Conn, w *rankWriter, stderr io.Writer) int {
	runtime.LockOSThread()
	h := Hello{Token: token, Rank: rank, Host: Hostname(), PID: os.Getpid(), PGID: getpgid()}
	c, startErr := startChild(args, env, value)
	if startErr == nil {
		h.ChildPID = c.cmd.Process.Pid
	}
	hb, _ := json.Marshal(h)
	if err := w.frame(FrameHello, hb); err != nil {
		fmt.Fprintf(stderr, "mpigo rankio: rank %d: %v\n", rank, err)
	}
	if startErr != nil {
		info := Exit{Code: 127, Err: startErr.Error()}
		b, _ := json.Marshal(info)
		_ = w.frame(FrameExit, b)
		fmt.Fprintf(stderr, "mpigo rankio: rank %d: %v\n", rank, startErr)
		return 127
	}
	stop := forwardSignals(c)
	defer stop()

	// Control from the magic; a broken connection means the kernel is gone.
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := conn.Read(buf); err != nil {
				c.signal(syscall.SIGKILL)
				return
			}
			switch buf[0] {
			case CtlTerminate:
				c.terminate()
			case CtlKill:
				c.signal(syscall.SIGKILL)
			}
		}
	}()

	var copiers sync.WaitGroup
	pipes := []*os.File{c.outR, c.errR}
	copiers.Add(2)
	go forward(&copiers, w, c.outR, FrameStdout, -1)
	go forward(&copiers, w, c.errR, FrameStderr, -1)
	if c.valR != nil {
		pipes = append(pipes, c.valR)
		copiers.Add(1)
		// One byte past MaxValue tells the magic the value is too large.
		go forward(&copiers, w, c.valR, FrameValue, MaxValue+1)
	}

	info := c.wait()
	drained := make(chan struct{})
	go func() { copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(time.Second): // a grandchild holds the pipes open
		for _, p := range pipes {
			p.Close()
		}
		<-drained
	}
	b, _ := json.Marshal(info)
	_ = w.frame(FrameExit, b)
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	return exitCode(info)
}

// forward sends what r carries as frames of type typ, until r ends; past
// limit bytes (-1: none) it drops the rest, still draining the pipe so
// that the program never blocks on it. A dead connection drains it too.
func forward(wg *sync.WaitGroup, w *rankWriter, r *os.File, typ byte, limit int) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	sent := 0
	for {
		n, err := r.Read(buf)
		if n > 0 && (limit < 0 || sent < limit) {
			m := n
			if limit >= 0 {
				m = min(n, limit-sent)
			}
			_ = w.frame(typ, buf[:m])
			sent += m
		}
		if err != nil {
			return
		}
	}
}

// runRankLocal runs the program with its output prefixed on our own
// stdout and stderr (no connection to the kernel, so no value channel
// either: the magic then says the rank sent no value).
func runRankLocal(args, env []string, rank int, stdout, stderr io.Writer) int {
	runtime.LockOSThread()
	c, err := startChild(args, env, false)
	if err != nil {
		fmt.Fprintf(stderr, "mpigo rankio: rank %d: %v\n", rank, err)
		return 127
	}
	stop := forwardSignals(c)
	defer stop()
	prefix := []byte(Prefix(rank))
	var copiers sync.WaitGroup
	pass := func(r *os.File, w io.Writer) {
		defer copiers.Done()
		var lb LineBuffer
		emit := func(line []byte) { _, _ = w.Write(append(append([]byte(nil), prefix...), line...)) }
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			lb.Write(buf[:n], emit)
			if err != nil {
				lb.Flush(emit)
				return
			}
		}
	}
	copiers.Add(2)
	go pass(c.outR, stdout)
	go pass(c.errR, stderr)
	info := c.wait()
	copiers.Wait()
	return exitCode(info)
}

// Prefix is what each output line of a rank starts with: "[rank N] ".
func Prefix(rank int) string {
	if rank < 0 {
		return "[rank ?] "
	}
	return "[rank " + strconv.Itoa(rank) + "] "
}

// Hostname is this machine's name, or "" if unknown.
func Hostname() string {
	h, _ := os.Hostname()
	return h
}

// ValidToken compares tokens in constant time.
func ValidToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

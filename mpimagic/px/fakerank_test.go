package px

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/px/pxwire"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// The test binary plays the launcher ("TESTBIN -n N PROGRAM...": it starts
// PROGRAM N times with $PXTEST_RANK set, in its own process group, and
// waits for them) and the ranks ("TESTBIN pxrank"), which speak pxwire and
// run a tiny language instead of Go, one command a line:
//
//	print TEXT      write TEXT and a newline on stdout (on every rank)
//	partial TEXT    write TEXT without a newline
//	set V / get     keep V / print what was kept ("[rank N] V")
//	decls           print how many declarations were restored (by name)
//	fail R          fail on rank R ("*": on every rank)
//	die R           exit the process of rank R
//	dieafter R      exit the process of rank R once the cell has ended
//	hang            run until interrupted
//	stuck R         on rank R, run and ignore interrupts
//	value           end with the value rank*10 (for --out)
//	slowhello       (in $PXTEST_HELLO) wait before the hello
func fakeMain() (int, bool) {
	switch {
	case len(os.Args) > 2 && os.Args[1] == "-n":
		return fakeLauncher(os.Args[2], os.Args[3:]), true
	case len(os.Args) > 1 && os.Args[1] == "pxrank":
		return fakeRank(), true
	}
	return 0, false
}

// fakeLauncher starts n copies of argv and waits for them.
func fakeLauncher(n string, argv []string) int {
	count, _ := strconv.Atoi(n)
	var cmds []*exec.Cmd
	for i := 0; i < count; i++ {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "PXTEST_RANK="+strconv.Itoa(i), "PXTEST_SIZE="+n)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return 1
		}
		cmds = append(cmds, cmd)
	}
	status := 0
	for _, c := range cmds {
		if c.Wait() != nil {
			status = 1
		}
	}
	return status
}

// fakeRank is one rank: hello, then requests until stop or EOF.
func fakeRank() int {
	rank, _ := strconv.Atoi(os.Getenv("PXTEST_RANK"))
	size, _ := strconv.Atoi(os.Getenv("PXTEST_SIZE"))
	addr := rankio.ParseAddress(os.Getenv(pxwire.EnvVar))
	conn, err := net.Dial("tcp", addr.Addrs[len(addr.Addrs)-1])
	if err != nil {
		return 2
	}
	if os.Getenv("PXTEST_HELLO") == "nohello" {
		time.Sleep(time.Hour) // killed by the pool
	}
	w := &fakeWriter{conn: conn}
	w.send(pxwire.Hello{Token: addr.Token, Rank: rank, Size: size, Host: rankio.Hostname(), PID: os.Getpid()})
	fr := &fakeSession{rank: rank, w: w, stops: map[int64]chan struct{}{}}
	rd := pxwire.NewReader(conn)
	for {
		var req pxwire.Request
		if rd.Next(&req, pxwire.MaxLine) != nil {
			return 0 // the kernel is gone
		}
		if fr.handle(req) {
			return 0
		}
	}
}

// fakeWriter serialises a rank's lines.
type fakeWriter struct {
	mu   sync.Mutex
	conn net.Conn
}

func (w *fakeWriter) send(v any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = pxwire.Encode(w.conn, v)
}

// fakeSession is a rank's state from cell to cell.
type fakeSession struct {
	rank  int
	w     *fakeWriter
	kept  string
	decls map[string]bool // the names of the declarations restored
	mu    sync.Mutex
	stops map[int64]chan struct{}
}

// handle handles a request; true: stop.
func (s *fakeSession) handle(req pxwire.Request) bool {
	switch req.Op {
	case pxwire.OpStop:
		return true
	case pxwire.OpRestore:
		if s.decls == nil {
			s.decls = map[string]bool{}
		}
		for _, d := range req.Decls {
			s.decls[d.Name] = true
		}
		s.w.send(pxwire.Event{ID: req.ID, Kind: pxwire.EventDone})
	case pxwire.OpInterrupt:
		s.mu.Lock()
		if c := s.stops[req.ID]; c != nil {
			close(c)
			delete(s.stops, req.ID)
		}
		s.mu.Unlock()
	case pxwire.OpExecute:
		stop := make(chan struct{})
		s.mu.Lock()
		s.stops[req.ID] = stop
		s.mu.Unlock()
		go s.execute(req, stop)
	}
	return false
}

// mine reports whether a command's rank argument names this rank.
func (s *fakeSession) mine(arg string) bool { return arg == "*" || arg == strconv.Itoa(s.rank) }

// execute runs a cell and sends its done.
func (s *fakeSession) execute(req pxwire.Request, stop chan struct{}) {
	done := pxwire.Event{ID: req.ID, Kind: pxwire.EventDone}
	exitAfter := false
	out := func(text string) {
		s.w.send(pxwire.Event{ID: req.ID, Kind: pxwire.EventOutput, Stream: "stdout", Text: text})
	}
	for _, line := range strings.Split(req.Code, "\n") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch {
		case cmd == "print":
			out(arg + "\n")
		case cmd == "partial":
			out(arg)
		case cmd == "set":
			s.kept = arg
		case cmd == "get":
			out(s.kept + "\n")
		case cmd == "decls":
			out(strconv.Itoa(len(s.decls)) + "\n")
		case cmd == "fail" && s.mine(arg):
			done.Error = &cellio.Error{Name: cellio.Panic, Value: "boom on " + strconv.Itoa(s.rank), Traceback: []string{"panic: boom", "cell[1]:1"}}
		case cmd == "die" && s.mine(arg):
			os.Exit(3)
		case cmd == "dieafter" && s.mine(arg):
			exitAfter = true
		case cmd == "hang":
			<-stop
			done.Error = &cellio.Error{Name: cellio.Interrupted, Value: "interrupted"}
		case cmd == "stuck" && s.mine(arg):
			time.Sleep(time.Hour)
		case cmd == "value":
			b, _ := json.Marshal(s.rank * 10)
			done.Result = strconv.Itoa(s.rank * 10)
			done.Out, done.OutJSON = &goeval.CarriedVar{Type: "int", Value: []byte{byte(s.rank)}}, b
		}
		if done.Error != nil {
			break
		}
	}
	s.mu.Lock()
	delete(s.stops, req.ID)
	s.mu.Unlock()
	s.w.send(done)
	if exitAfter {
		os.Exit(3)
	}
}

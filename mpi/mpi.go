package mpi

// #include "mpigo.h"
import "C"

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Special ranks and tags. Their values are the package's own, not MPI's:
// MPI's are small negative numbers that differ between implementations
// (MPI_ANY_SOURCE is -1 in Open MPI and -2 in MPICH, MPI_PROC_NULL the other
// way round, MPI_ANY_TAG -1 in both), so a rank or tag computed wrongly, such
// as the -1 that Go's (rank-1)%size gives on rank 0, would silently mean one
// of them: a receive from anyone, or a send that does nothing. Here they are
// far below anything rank or tag arithmetic produces (and fit in an int32),
// every other negative rank or tag panics with a *UsageError, and the package
// passes MPI its own values. Compare with them, never with their numbers.
const (
	// AnySource as the source of Recv, Irecv, Probe or RecvObj matches a
	// message from any rank; Status.Source then says which one sent it.
	//
	//	st := comm.Recv(buf, mpi.AnySource, 0) // st.Source is the sender
	AnySource = -1<<30 - 1

	// ProcNull as a destination or source makes the call a no-op that
	// completes at once (a receive from it gets 0 elements, and a Status
	// with Source ProcNull and Tag AnyTag), which saves the special cases at
	// the edges of a non-periodic domain.
	//
	//	left := comm.Rank() - 1
	//	if left < 0 {
	//		left = mpi.ProcNull
	//	}
	//	comm.Sendrecv(edge, left, 0, halo, left, 0)
	ProcNull = -1<<30 - 2

	// AnyTag as the tag of a receive or probe matches any tag; Status.Tag
	// then says which one the message had.
	//
	//	st := comm.Recv(buf, 0, mpi.AnyTag) // st.Tag is the message's tag
	AnyTag = -1<<30 - 3

	// Undefined as the color of Split leaves the calling rank out of every
	// new communicator: Split returns nil on it. It is MPI's MPI_UNDEFINED
	// (-32766 in Open MPI and MPICH alike); other negative colors panic.
	//
	//	sub := comm.Split(mpi.Undefined, 0) // sub == nil
	Undefined = int(C.MPI_UNDEFINED)
)

// MPI's own values of the special ranks and tag, which only the calls into C
// see (cRank, cTag) and statuses from C are translated back from (status).
const (
	cAnySource = C.MPI_ANY_SOURCE
	cProcNull  = C.MPI_PROC_NULL
	cAnyTag    = C.MPI_ANY_TAG
)

// ThreadSupport is a level of thread support an MPI library grants
// (MPI_THREAD_*). It decides which goroutines may call the package; see the
// package doc.
//
//	if mpi.ThreadLevel() < mpi.ThreadMultiple {
//		// call MPI from one goroutine at a time only
//	}
type ThreadSupport int

// The thread levels, from least to most permissive.
const (
	// ThreadSingle: only one thread exists (MPI_THREAD_SINGLE).
	//
	//	mpi.InitThread(mpi.ThreadSingle)
	ThreadSingle ThreadSupport = iota
	// ThreadFunneled: only the goroutine that called Init may call MPI
	// (MPI_THREAD_FUNNELED).
	//
	//	mpi.InitThread(mpi.ThreadFunneled)
	ThreadFunneled
	// ThreadSerialized: any goroutine, but never two at once
	// (MPI_THREAD_SERIALIZED).
	//
	//	mpi.InitThread(mpi.ThreadSerialized)
	ThreadSerialized
	// ThreadMultiple: any goroutines, concurrently (MPI_THREAD_MULTIPLE).
	// What Init asks for.
	//
	//	mpi.InitThread(mpi.ThreadMultiple) // same as mpi.Init()
	ThreadMultiple
)

// String returns the MPI name of the level, e.g. "MPI_THREAD_MULTIPLE".
//
//	fmt.Println(mpi.ThreadLevel()) // MPI_THREAD_MULTIPLE
func (l ThreadSupport) String() string {
	switch l {
	case ThreadSingle:
		return "MPI_THREAD_SINGLE"
	case ThreadFunneled:
		return "MPI_THREAD_FUNNELED"
	case ThreadSerialized:
		return "MPI_THREAD_SERIALIZED"
	case ThreadMultiple:
		return "MPI_THREAD_MULTIPLE"
	}
	return "ThreadSupport(" + strconv.Itoa(int(l)) + ")"
}

// Process-wide MPI state. MPI itself is process-global and can be
// initialised once; these mirror it.
const (
	stateNew       = iota // before Init
	stateRunning          // between Init and Finalize
	stateFinalized        // after Finalize
)

var (
	state    atomic.Int32
	initMu   sync.Mutex    // serialises Init and Finalize
	provided ThreadSupport // what the library granted
	tagUB    int           // MPI_TAG_UB
	ownInit  bool          // this package called MPI_Init_thread (not adopted)
	// yieldWait makes blocking calls poll and yield the CPU (see mode).
	yieldWait bool
)

// World is the communicator of all processes started together
// (MPI_COMM_WORLD, mpi4py's MPI.COMM_WORLD). Its Rank and Size are known
// once Init has returned.
//
//	comm := mpi.World
//	fmt.Printf("rank %d of %d\n", comm.Rank(), comm.Size())
var World = &Comm{c: C.mpigo_comm_world(), h: C.mpigo_comm_handle(C.mpigo_comm_world()), name: "World"}

// Self is the communicator that holds only the calling process
// (MPI_COMM_SELF).
//
//	mpi.Self.Bcast(buf, 0) // a no-op: the only rank is the root
var Self = &Comm{c: C.mpigo_comm_self(), h: C.mpigo_comm_handle(C.mpigo_comm_self()), name: "Self"}

func init() {
	// MPI must be called on the thread that initialised it when the library
	// grants only ThreadFunneled, and MPI_Finalize must always run there.
	// Locking in init keeps the main goroutine on the main thread for the
	// whole program, so Init and Finalize called from main meet that rule.
	runtime.LockOSThread()
}

// Init initialises MPI, asking for ThreadMultiple, and must be called before
// any other call of the package except LibraryVersion and Implementation
// (Initialized and Finalized too). Call it from the main goroutine, usually
// first thing in main, and defer Finalize; %mpirun cells do both for you.
// Calling Init again is a no-op. MPI cannot be restarted after Finalize.
//
//	func main() {
//		mpi.Init()
//		defer mpi.Finalize()
//		fmt.Println("hello from rank", mpi.World.Rank())
//	}
func Init() { InitThread(ThreadMultiple) }

// InitThread is Init asking for the given thread level
// (MPI_Init_thread); it returns the level granted, which may be lower and
// which ThreadLevel reports afterwards. A lower level can make calls a little
// faster in some libraries, at the price of the rules in the package doc.
//
//	if got := mpi.InitThread(mpi.ThreadFunneled); got < mpi.ThreadFunneled {
//		log.Fatal("MPI grants only ", got)
//	}
func InitThread(required ThreadSupport) ThreadSupport {
	initMu.Lock()
	defer initMu.Unlock()
	switch state.Load() {
	case stateRunning:
		return provided
	case stateFinalized:
		panic(usage("Init", "", "MPI was already finalised and cannot be initialised again; call mpi.Init once, at the start of main"))
	}
	if required < ThreadSingle || required > ThreadMultiple {
		panic(usage("InitThread", "required", fmt.Sprintf("%d is not a thread level; use mpi.ThreadSingle, ThreadFunneled, ThreadSerialized or ThreadMultiple", int(required))))
	}
	if C.mpigo_initialized() != 0 {
		// Someone (C code in the same process) initialised MPI: adopt it.
		provided = ThreadSupport(C.mpigo_query_thread())
	} else {
		// The calling goroutine becomes MPI's main thread; keep it there.
		runtime.LockOSThread()
		r := C.mpigo_init(C.int(required))
		if r.err != 0 {
			panic(mpiError(int(r.err), -1, "Init"))
		}
		ownInit = true
		provided = ThreadSupport(r.value)
	}
	C.mpigo_fix_signals()
	for _, c := range []*Comm{World, Self} {
		var rank, size C.int
		if e := C.mpigo_comm_rank(c.c, &rank); e != 0 {
			panic(mpiError(int(e), -1, "Init (MPI_Comm_rank)"))
		}
		if e := C.mpigo_comm_size(c.c, &size); e != 0 {
			panic(mpiError(int(e), -1, "Init (MPI_Comm_size)"))
		}
		c.rank, c.size = int(rank), int(size)
	}
	ub := C.mpigo_tag_ub(World.c)
	tagUB = int(ub.value)
	yieldWait = shouldYield()
	raiseGOMAXPROCS()
	state.Store(stateRunning)
	checkLauncher(World.size)
	return provided
}

// shouldYield decides whether blocking calls poll and yield the CPU:
// MPIGO_YIELD=1 or 0 forces it; by default it is on when the library is
// MPICH (which busy-waits without ever yielding; Open MPI yields by itself
// when oversubscribed) and the ranks on this node outnumber its online CPUs
// (not runtime.NumCPU, which counts only the CPUs a launcher bound this
// rank to).
func shouldYield() bool {
	switch os.Getenv("MPIGO_YIELD") {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	if Implementation() != "mpich" {
		return false
	}
	local := int(C.mpigo_local_size(World.c))
	return local > int(C.mpigo_online_cpus())
}

// raiseGOMAXPROCS makes GOMAXPROCS at least 2 unless the user chose it.
//
// A launcher that binds each rank to one core (Open MPI's default for up to
// 2 ranks, srun --cpu-bind=cores) makes Go see one CPU and run with
// GOMAXPROCS=1. Go's sysmon then takes the only P away from any cgo call
// longer than 20 us, because no idle P is left, and the call pays tens of
// microseconds to get it back: large messages took 1.5x as long as in C.
// With a second, idle P, sysmon leaves calls alone for 10 ms.
func raiseGOMAXPROCS() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
}

// checkLauncher panics when the process was started as one of several
// ranks by a launcher of another MPI implementation: the library then runs it
// as a singleton and every rank would silently be rank 0 of 1.
func checkLauncher(size int) {
	if size != 1 {
		return
	}
	for _, v := range []struct{ env, launcher string }{
		{"OMPI_COMM_WORLD_SIZE", "Open MPI's mpirun (mpirun.openmpi)"},
		{"PMI_SIZE", "an MPICH/Hydra or PMI launcher (mpirun.mpich, srun --mpi=pmi2)"},
	} {
		n, err := strconv.Atoi(os.Getenv(v.env))
		if err != nil || n <= 1 {
			continue
		}
		panic(usage("Init", "", fmt.Sprintf(
			"this process was started as one of %d ranks by %s (%s=%d), but the MPI library it is linked with (%s) sees a world of 1: "+
				"launcher and library do not match. Launch with the mpirun of %s, or rebuild for the launcher's MPI (go build -tags ompi or -tags mpich; see the package doc)",
			n, v.launcher, v.env, n, LibraryVersionShort(), Implementation())))
	}
}

// Finalize shuts MPI down (MPI_Finalize). Call it once, from the goroutine
// that called Init, after every request has completed; a process that exits
// without it makes mpirun report a failure. Calling it again, or without
// Init, is a no-op. No MPI call may follow. It panics with a *UsageError,
// leaving MPI up, when a request of Isend or Irecv was never completed, or
// when other goroutines are still inside MPI calls 2 s after it was called
// (a receiver blocked in Recv, say): MPI_Finalize would crash them.
//
// Defer it directly, as below: when main panics, the deferred Finalize then
// sees the panic, skips MPI_Finalize (which would wait forever for the ranks
// still running) and lets the panic end the process, so the launcher ends
// the job and shows the panic. Wrapped in another function
// (defer func() { mpi.Finalize() }()) it cannot see the panic.
//
//	mpi.Init()
//	defer mpi.Finalize()
func Finalize() {
	if r := recover(); r != nil {
		panic(r)
	}
	initMu.Lock()
	defer initMu.Unlock()
	if state.Load() != stateRunning {
		return
	}
	if ownInit && C.mpigo_on_init_thread() == 0 {
		panic(usage("Finalize", "", "called from another goroutine than the one that called Init; MPI must be finalised on the thread that initialised it: call Init and Finalize (deferred) in main"))
	}
	state.Store(stateFinalized) // calls from now on panic
	if err := quiesce(); err != nil {
		state.Store(stateRunning)
		panic(err)
	}
	if e := C.mpigo_finalize(); e != 0 {
		panic(mpiError(int(e), World.rank, "Finalize"))
	}
}

// quiesceWait bounds how long Finalize waits for calls of other goroutines
// to return (a receiver getting its last message).
const quiesceWait = 2 * time.Second

// quiesce returns the error of a Finalize that would pull MPI out from
// under a call in progress: MPI_Finalize while another thread is inside
// MPI crashes the process (a segmentation fault under Open MPI and MPICH),
// and a request never completed leaves MPI writing into memory Go may reuse.
// Calls are found in the goroutines' stacks, so that the calls themselves
// pay nothing for it.
func quiesce() *UsageError {
	if n := outstanding.Load(); n > 0 {
		return usagef("Finalize", "", "%d request(s) started by Isend or Irecv were never completed; complete each with Wait, WaitAll or Test before Finalize (MPI would go on using their buffers)", n)
	}
	deadline := time.Now().Add(quiesceWait)
	for {
		calls := callsInProgress()
		if len(calls) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return usagef("Finalize", "", "other goroutines are still inside MPI calls (%s) after %v: finalising would crash them; make them return first (send the message a receiver waits for, say) and wait for them (sync.WaitGroup) before Finalize",
				strings.Join(calls, ", "), quiesceWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// callsInProgress names the calls of the package that other goroutines are
// in, from a dump of every goroutine's stack: a goroutine inside a C helper
// shows a _Cfunc_ frame of this package, under the call that made it.
func callsInProgress() []string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 64<<20 {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	pkg := reflect.TypeOf(Comm{}).PkgPath() + "."
	var calls []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || !strings.Contains(g, pkg+"_Cfunc_") {
			continue // the first is the caller's own
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
		calls = append(calls, callerName(g, pkg)+" in goroutine "+id)
	}
	return calls
}

// callerName returns the first function of pkg in a goroutine's stack that
// is not cgo's, as the package's API spells it ("Comm.Recv").
func callerName(stack, pkg string) string {
	for _, line := range strings.Split(stack, "\n") {
		f, ok := strings.CutPrefix(line, pkg)
		if !ok || strings.HasPrefix(f, "_C") {
			continue
		}
		if strings.HasPrefix(f, "(*") {
			f = strings.Replace(f[2:], ").", ".", 1)
		}
		name, _, _ := strings.Cut(f, "(")
		if i := strings.Index(name, ".func"); i > 0 {
			name = name[:i] // a closure cgo wraps the call in
		}
		return name
	}
	return "an MPI call"
}

// Initialized reports whether Init has been called (MPI_Initialized).
//
//	if !mpi.Initialized() {
//		mpi.Init()
//	}
func Initialized() bool { return state.Load() != stateNew || C.mpigo_initialized() != 0 }

// Finalized reports whether Finalize has been called (MPI_Finalized).
//
//	defer func() {
//		if !mpi.Finalized() {
//			mpi.Finalize()
//		}
//	}()
func Finalized() bool { return state.Load() == stateFinalized }

// ThreadLevel returns the thread level the library granted at Init:
// ThreadMultiple with Debian's Open MPI and MPICH. See the package doc for
// what each level allows.
//
//	if mpi.ThreadLevel() == mpi.ThreadMultiple {
//		go worker(comm) // may call MPI concurrently with main
//	}
func ThreadLevel() ThreadSupport {
	checkRunning("ThreadLevel")
	return provided
}

// IsThreadMain reports whether the caller runs on the thread that called
// Init (MPI_Is_thread_main), the only one allowed to call MPI under
// ThreadFunneled.
//
//	if !mpi.IsThreadMain() && mpi.ThreadLevel() == mpi.ThreadFunneled {
//		panic("MPI call from a goroutine other than main")
//	}
func IsThreadMain() bool {
	checkRunning("IsThreadMain")
	return C.mpigo_is_thread_main() != 0
}

// Wtime returns the elapsed wall-clock time in seconds since some time in
// the past (MPI_Wtime); differences of it time code.
//
//	t0 := mpi.Wtime()
//	work()
//	fmt.Printf("%.3f s\n", mpi.Wtime()-t0)
func Wtime() float64 { return float64(C.mpigo_wtime()) }

// Wtick returns the resolution of Wtime in seconds (MPI_Wtick).
//
//	fmt.Printf("Wtime resolution: %g s\n", mpi.Wtick())
func Wtick() float64 { return float64(C.mpigo_wtick()) }

// ProcessorName returns the name of the node the process runs on
// (MPI_Get_processor_name), usually its host name.
//
//	fmt.Printf("rank %d runs on %s\n", mpi.World.Rank(), mpi.ProcessorName())
func ProcessorName() string {
	checkRunning("ProcessorName")
	buf := make([]byte, int(C.mpigo_max_processor_name())+1)
	var n C.int
	if e := C.mpigo_processor_name((*C.char)(unsafe.Pointer(&buf[0])), &n); e != 0 {
		panic(mpiError(int(e), World.rank, "ProcessorName"))
	}
	return string(buf[:n])
}

// LibraryVersion returns the MPI library's own description of itself
// (MPI_Get_library_version), possibly several lines. It may be called before
// Init.
//
//	fmt.Println(mpi.LibraryVersion()) // Open MPI v4.1.4, package: Debian OpenMPI, ...
func LibraryVersion() string {
	buf := make([]byte, int(C.mpigo_max_library_version_string())+1)
	var n C.int
	if e := C.mpigo_library_version((*C.char)(unsafe.Pointer(&buf[0])), &n); e != 0 {
		return "unknown MPI library"
	}
	s := string(buf[:n])
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == 0 || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// LibraryVersionShort returns the first line of LibraryVersion, up to its
// first comma: "Open MPI v4.1.4" or "MPICH Version:      4.0.2".
//
//	log.Printf("built with %s", mpi.LibraryVersionShort())
func LibraryVersionShort() string {
	s := LibraryVersion()
	for i, r := range s {
		if r == '\n' || r == ',' {
			return s[:i]
		}
	}
	return s
}

// Implementation names the MPI implementation the package was compiled
// against: "openmpi", "mpich" (MPICH and derivatives such as MVAPICH and
// Intel MPI) or "unknown". Use it to pick the matching launcher
// (mpirun.openmpi or mpirun.mpich on Debian). It may be called before Init.
//
//	launcher := "mpirun." + mpi.Implementation() // on Debian
func Implementation() string {
	switch C.mpigo_impl() {
	case C.MPIGO_IMPL_OPENMPI:
		return "openmpi"
	case C.MPIGO_IMPL_MPICH:
		return "mpich"
	}
	return "unknown"
}

// checkRunning panics unless MPI is between Init and Finalize.
func checkRunning(call string) {
	switch state.Load() {
	case stateRunning:
		return
	case stateNew:
		panic(usage(call, "", "called before mpi.Init; call mpi.Init() first thing in main and defer mpi.Finalize()"))
	default:
		panic(usage(call, "", "called after mpi.Finalize; no MPI call may follow Finalize"))
	}
}

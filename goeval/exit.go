package goeval

import (
	"context"
	"fmt"
	"io"
	"log"
	"reflect"
	"strconv"
	"sync"

	"github.com/mpigo/mpigo/cellio"
	"github.com/traefik/yaegi/interp"
)

// os.Exit and log.Fatal in cells.
//
// yaegi's restricted standard library turns os.Exit into a panic and
// log.Fatal* into log.Panic*, so that deferred calls run, recover stops
// them, and log.Fatal reports a panic. The session gives cells its own
// os.Exit instead (and log's Fatal* functions and methods, which call it
// after writing their message, as compiled Go does): it records the exit
// code for the running cell, cancels what the cell is running, and parks
// the calling goroutine forever, so that nothing more of that goroutine
// runs, none of its deferred calls in particular (runtime.Goexit and
// panics would run them). The cell then ends with the Exit error and the
// session goes on.
//
// Interpreted code runs on goroutines of its own in sections: the
// executions of compiled groups (yaegi's ExecuteWithContext, which stops
// the interpreter's goroutines when its context is cancelled), and the
// cell's top-level deferred calls and the formatting of its value
// (guarded), so that os.Exit never parks the goroutine of Eval.
//
// A goroutine that exits while no cell runs (one a finished cell started)
// is parked with a note on standard error; one that exits while a cell
// runs ends that cell, as it would end a program.
//
// Limits: every exit leaves its goroutine parked (a few kilobytes). When a
// goroutine other than the cell's exits, yaegi stops the others at their
// next statement; the deferred calls of their frames then run, those of
// interpreted functions doing nothing (their frames are stopped too) but
// those of compiled ones (defer fmt.Println(...)) running as written. The
// loggers of cells are not the process's: a *log.Logger that compiled code
// makes (slog.NewLogLogger) still ends the process with Fatal.

// exitState is the os.Exit state of a session.
type exitState struct {
	mu   sync.Mutex
	cell *exitRun // the cell running; nil between cells
}

// exitRun is the os.Exit state of a cell.
type exitRun struct {
	exited bool
	code   int
	// cancel stops the section running (nil between sections).
	cancel context.CancelFunc
}

// beginCell starts the os.Exit state of a cell.
func (x *exitState) beginCell() {
	x.mu.Lock()
	x.cell = &exitRun{}
	x.mu.Unlock()
}

// endCell ends the cell's os.Exit state and reports whether it exited, and
// with which code.
func (x *exitState) endCell() (code int, exited bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r := x.cell
	x.cell = nil
	if r == nil {
		return 0, false
	}
	return r.code, r.exited
}

// exited reports whether the running cell has exited.
func (x *exitState) exited() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cell != nil && x.cell.exited
}

// section starts a section of the running cell: the context it returns is
// cancelled when the cell exits. end ends the section and returns the Exit
// error when the cell has exited (nil otherwise). When the cell has
// already exited, section returns that error and nothing must run.
func (x *exitState) section(parent context.Context) (ctx context.Context, end func() error, err error) {
	ctx, cancel := context.WithCancel(parent)
	x.mu.Lock()
	defer x.mu.Unlock()
	r := x.cell
	if r != nil && r.exited {
		cancel()
		return nil, nil, exitError(r.code)
	}
	if r != nil {
		r.cancel = cancel
	}
	return ctx, func() error {
		cancel()
		x.mu.Lock()
		defer x.mu.Unlock()
		if r == nil {
			return nil
		}
		r.cancel = nil
		if r.exited {
			return exitError(r.code)
		}
		return nil
	}, nil
}

// guarded runs f, which calls interpreted code, on a goroutine of its own
// and waits until it returns or the cell exits; a panic of f is passed on.
// It returns the Exit error when the cell has exited.
func (x *exitState) guarded(f func()) error {
	ctx, end, err := x.section(context.Background())
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var p any
	go func() {
		defer close(done)
		defer func() { p = recover() }()
		f()
	}()
	select {
	case <-done:
		if p != nil {
			end()
			panic(p)
		}
	case <-ctx.Done():
	}
	return end()
}

// osExit is os.Exit for cells: it never returns.
func (s *Session) osExit(code int) {
	x := &s.exit
	x.mu.Lock()
	r := x.cell
	if r == nil {
		x.mu.Unlock()
		fmt.Fprintf(s.pipe.w, "mpigo: os.Exit(%d) called by a goroutine after its cell had finished: the goroutine was stopped; the session goes on\n", code)
		select {}
	}
	if !r.exited {
		r.exited, r.code = true, code
		if r.cancel != nil {
			r.cancel()
		}
	}
	x.mu.Unlock()
	select {}
}

// exitError is the error of a cell that called os.Exit(code).
func exitError(code int) *Error {
	v := "exit status " + strconv.Itoa(code)
	return &Error{Name: cellio.Exit, Value: v, Traceback: []string{string(cellio.Exit) + ": " + v}}
}

// logLogger is log.Logger for cells: its Fatal methods call the session's
// os.Exit.
type logLogger struct {
	l    *log.Logger
	exit func(int)
}

func (l *logLogger) Fatal(v ...any) {
	l.l.Output(2, fmt.Sprint(v...))
	l.exit(1)
}

func (l *logLogger) Fatalf(format string, v ...any) {
	l.l.Output(2, fmt.Sprintf(format, v...))
	l.exit(1)
}

func (l *logLogger) Fatalln(v ...any) {
	l.l.Output(2, fmt.Sprintln(v...))
	l.exit(1)
}

func (l *logLogger) Flags() int                           { return l.l.Flags() }
func (l *logLogger) Output(calldepth int, s string) error { return l.l.Output(calldepth+1, s) }
func (l *logLogger) Panic(v ...any)                       { l.l.Panic(v...) }
func (l *logLogger) Panicf(format string, v ...any)       { l.l.Panicf(format, v...) }
func (l *logLogger) Panicln(v ...any)                     { l.l.Panicln(v...) }
func (l *logLogger) Prefix() string                       { return l.l.Prefix() }
func (l *logLogger) Print(v ...any)                       { l.l.Print(v...) }
func (l *logLogger) Printf(format string, v ...any)       { l.l.Printf(format, v...) }
func (l *logLogger) Println(v ...any)                     { l.l.Println(v...) }
func (l *logLogger) SetFlags(flag int)                    { l.l.SetFlags(flag) }
func (l *logLogger) SetOutput(w io.Writer)                { l.l.SetOutput(w) }
func (l *logLogger) SetPrefix(prefix string)              { l.l.SetPrefix(prefix) }
func (l *logLogger) Writer() io.Writer                    { return l.l.Writer() }

// exitSymbols replaces os.Exit and package log for an interpreter whose
// standard error is stderr: log's functions use a logger of the
// interpreter, which log.Default returns (yaegi's returns the process's
// logger, whose Fatal ends the process), and log.New makes loggers whose
// Fatal methods call the session's os.Exit.
func (s *Session) exitSymbols(stderr io.Writer) interp.Exports {
	std := &logLogger{l: log.New(stderr, "", log.LstdFlags), exit: s.osExit}
	logSyms := map[string]reflect.Value{
		"Default": reflect.ValueOf(func() *logLogger { return std }),
		"New": reflect.ValueOf(func(out io.Writer, prefix string, flag int) *logLogger {
			return &logLogger{l: log.New(out, prefix, flag), exit: s.osExit}
		}),
		"Logger":    reflect.ValueOf((*logLogger)(nil)),
		"Fatal":     reflect.ValueOf(std.Fatal),
		"Fatalf":    reflect.ValueOf(std.Fatalf),
		"Fatalln":   reflect.ValueOf(std.Fatalln),
		"Flags":     reflect.ValueOf(std.Flags),
		"Output":    reflect.ValueOf(std.Output),
		"Panic":     reflect.ValueOf(std.Panic),
		"Panicf":    reflect.ValueOf(std.Panicf),
		"Panicln":   reflect.ValueOf(std.Panicln),
		"Prefix":    reflect.ValueOf(std.Prefix),
		"Print":     reflect.ValueOf(std.Print),
		"Printf":    reflect.ValueOf(std.Printf),
		"Println":   reflect.ValueOf(std.Println),
		"SetFlags":  reflect.ValueOf(std.SetFlags),
		"SetOutput": reflect.ValueOf(std.SetOutput),
		"SetPrefix": reflect.ValueOf(std.SetPrefix),
		"Writer":    reflect.ValueOf(std.Writer),
	}
	// As for fmt's printing functions, arguments of interpreted types are
	// passed with their String and Format methods.
	fmtTypes := []reflect.Type{
		reflect.TypeOf((*fmt.Formatter)(nil)).Elem(),
		reflect.TypeOf((*fmt.Stringer)(nil)).Elem(),
	}
	mapTypes := map[reflect.Value][]reflect.Type{}
	for _, name := range []string{"Fatal", "Fatalf", "Fatalln", "Panic", "Panicf", "Panicln", "Print", "Printf", "Println"} {
		mapTypes[logSyms[name]] = fmtTypes
	}
	return interp.Exports{
		"os/os":   {"Exit": reflect.ValueOf(s.osExit)},
		"log/log": logSyms,
		".":       {"MapTypes": reflect.ValueOf(mapTypes)},
	}
}

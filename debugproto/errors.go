package debugproto

import (
	"errors"
	"fmt"
)

// ErrInterpreterBusy is what an engine's debugger returns (wrapped or not)
// for a request that needs its interpreter while the interpreter runs a cell
// (stopped in it or not). The kernel tells it apart with errors.Is.
var ErrInterpreterBusy = errors.New("the interpreter is running a cell")

// ErrorKind says why a debug request failed. Callers tell kinds apart with
// errors.As and Kind, never by the message.
type ErrorKind int

// The kinds of Error.
const (
	KindMalformed     ErrorKind = iota + 1 // not a DAP request, or arguments of the wrong shape
	KindTooLarge                           // a request or a part of it over its bound
	KindUnsupported                        // a command mpigo's debugger does not implement
	KindNotStarted                         // a command that needs initialize first
	KindNotStopped                         // a command that needs a stopped thread
	KindNoEngine                           // a command the engine answers, and it cannot
	KindBusy                               // a command that needs the interpreter while a cell runs
	KindUnknownSource                      // a source path that is no dumped cell
	KindIO                                 // writing or reading a dumped cell failed
)

// Error is why a debug request failed; its message is what the response
// tells the front end. Construct one with the function of its kind.
type Error struct {
	Kind   ErrorKind
	detail string
}

func (e *Error) Error() string { return e.detail }

func errMalformed(format string, args ...any) *Error {
	return &Error{KindMalformed, fmt.Sprintf(format, args...)}
}

func errTooLarge(what string, size, max int) *Error {
	return &Error{KindTooLarge, fmt.Sprintf("%s is %d bytes, over the limit of %d", what, size, max)}
}

// ErrUnsupported is the error of a command mpigo's debugger does not
// implement.
func ErrUnsupported(command string) *Error {
	return &Error{KindUnsupported, fmt.Sprintf("the %q request is not supported by mpigo's debugger", clip(command))}
}

// ErrNotStarted is the error of a command sent before initialize (or after
// disconnect).
func ErrNotStarted(command string) *Error {
	return &Error{KindNotStarted, fmt.Sprintf("%s: the debugger is not started (send initialize first)", clip(command))}
}

// ErrNotStopped is the error of a command that needs a stopped thread when
// none is.
func ErrNotStopped(command string) *Error {
	return &Error{KindNotStopped, fmt.Sprintf("%s: no thread is stopped (it needs a cell stopped at a breakpoint)", clip(command))}
}

// ErrNoEngine is the error of a command that the engine must answer, when
// the engine has no debugger or failed; why says which.
func ErrNoEngine(command, why string) *Error {
	return &Error{KindNoEngine, fmt.Sprintf("%s: %s", clip(command), why)}
}

// ErrBusy is the error of a command that needs the interpreter idle while
// a cell runs (and is not stopped).
func ErrBusy(command string) *Error {
	return &Error{KindBusy, fmt.Sprintf("%s: a cell is running; ask again when it ends", clip(command))}
}

func errUnknownSource(path string) *Error {
	return &Error{KindUnknownSource, fmt.Sprintf("%q is not the source of a cell this debugger dumped", clip(path))}
}

func errIO(what string, err error) *Error {
	return &Error{KindIO, fmt.Sprintf("%s: %v", what, err)}
}

// ErrMissing is the error of a request without an argument it needs.
func ErrMissing(command, arg string) *Error {
	return &Error{KindMalformed, fmt.Sprintf("%s: the argument %s is missing", clip(command), arg)}
}
